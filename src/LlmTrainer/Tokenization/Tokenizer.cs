using System.Buffers;
using LlmTrainer.Progress;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Text to token ids and back. Two families share this surface: <see cref="ByteLevelBpeTokenizer"/> (GPT-2/tiktoken
/// style, what llmtrain trains) and <see cref="SentencePieceTokenizer"/> (Llama 2 style: <c>tokenizer.model</c>,
/// llama2.c's <c>tokenizer.bin</c>, or a Llama-style <c>tokenizer.json</c>). Code that prepares data, trains and
/// samples needs only this class: <see cref="BosId"/> starts every document, <see cref="EndsText"/> ends a sample.
/// </summary>
/// <remarks>Every member is safe to call from many threads at once.</remarks>
public abstract class Tokenizer
{
    /// <summary>The document separator of byte-level BPE tokenizers (and the line that separates TinyStories' stories).</summary>
    public const string EndOfText = "<|endoftext|>";

    private protected Tokenizer()
    {
    }

    public abstract TokenizerKind Kind { get; }

    /// <summary>Number of ids, special tokens included.</summary>
    public abstract int VocabSize { get; }

    /// <summary>
    /// The document-start token, written before every document when data is prepared and put before a prompt when
    /// sampling: <c>&lt;|endoftext|&gt;</c> for byte-level BPE, <c>&lt;s&gt;</c> for SentencePiece.
    /// </summary>
    public abstract int BosId { get; }

    /// <summary>The end-of-sequence token: <c>&lt;|endoftext|&gt;</c> for byte-level BPE, <c>&lt;/s&gt;</c> for SentencePiece.</summary>
    public abstract int EosId { get; }

    /// <summary>Special tokens (byte-level BPE) or control tokens (SentencePiece) by their text.</summary>
    public abstract IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Lowercase hex SHA-256 of a canonical description: prepared data and runs are matched by it.</summary>
    public abstract string Hash { get; }

    /// <summary>The name <see cref="Save"/>'s format has by convention: <c>tokenizer.json</c>, <c>tokenizer.model</c> or <c>tokenizer.bin</c>.</summary>
    public abstract string FileName { get; }

    /// <summary>
    /// Whether a generated <paramref name="id"/> ends a sample: the end-of-sequence token, or the document-start token
    /// (a model trained on documents that each begin with it emits it where a document ends).
    /// </summary>
    public bool EndsText(int id) => id == EosId || id == BosId;

    /// <param name="allowSpecial">Whether special-token strings in <paramref name="text"/> become their ids; when false they are encoded as ordinary text.</param>
    public int[] Encode(string text, bool allowSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        Encode(text.AsSpan(), output, allowSpecial);
        return [.. output];
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/> (no document-start token: callers add <see cref="BosId"/>).</summary>
    public abstract void Encode(ReadOnlySpan<char> text, List<int> output, bool allowSpecial = false);

    /// <summary>
    /// The UTF-8 bytes the ids stand for. <paramref name="previous"/> is the id before them, when they continue a
    /// text (a prompt): SentencePiece drops the space of the dummy prefix only at the start of a text.
    /// </summary>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids, int? previous = null)
    {
        var buffer = new ArrayBufferWriter<byte>(ids.Length * 4 + 16);
        bool atStart = StartsText(previous);
        foreach (int id in ids)
            buffer.Write(DecodeToken(id, ref atStart));
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The text the ids stand for; byte sequences that are not valid UTF-8 become U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids, int? previous = null) => Utf8Text.Decode(DecodeBytes(ids, previous), ReplacesEachInvalidByte);

    /// <summary>A decoder for ids that arrive one at a time (sampling), which holds back incomplete UTF-8 characters.</summary>
    /// <param name="previous">The id before the first one pushed (the last prompt token), if any.</param>
    public StreamingDecoder CreateStreamingDecoder(int? previous = null) => new(this, StartsText(previous));

    /// <summary>Writes the tokenizer in its own format (<see cref="FileName"/>), atomically.</summary>
    public abstract void Save(string path);

    /// <summary>The bytes of one token (control tokens: their text for byte-level BPE, nothing for SentencePiece).</summary>
    internal abstract byte[] Bytes(int id);

    /// <summary>The bytes <paramref name="id"/> adds to a text; <paramref name="atStart"/> tracks whether the text has begun.</summary>
    internal virtual ReadOnlySpan<byte> DecodeToken(int id, ref bool atStart) => Bytes(id);

    /// <summary>Whether decoding after <paramref name="previous"/> (null: nothing) starts a text.</summary>
    internal virtual bool StartsText(int? previous) => previous is null;

    /// <summary>Whether each byte of an invalid UTF-8 sequence becomes its own U+FFFD (SentencePiece) rather than each maximal invalid sequence (the Unicode recommendation, as .NET and Rust do).</summary>
    internal virtual bool ReplacesEachInvalidByte => false;

    private protected LlmTrainerException OutOfVocabulary(int id)
        => new($"token id {id} is outside this tokenizer's vocabulary (0..{VocabSize - 1})");

    public static ByteLevelBpeTokenizer Train(IEnumerable<string> documents, int vocabSize, TokenizerTrainOptions? options = null, IProgressReporter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        options ??= new TokenizerTrainOptions();
        progress ??= NullProgress.Instance;
        var specials = BpeTrainer.SpecialTokenList(options);
        var counts = PreTokenCounter.Count(documents, PreTokenizer.Create(options.Pattern), specials, progress);
        return BpeTrainer.Train(counts, vocabSize, options, progress);
    }

    /// <summary>
    /// Loads a tokenizer; the format is detected from the content: Hugging Face <c>tokenizer.json</c> (byte-level
    /// BPE, or Llama-style SentencePiece BPE), SentencePiece <c>tokenizer.model</c>, llama2.c <c>tokenizer.bin</c>, a
    /// tiktoken rank file, or a directory holding one of <c>tokenizer.json</c>, <c>tokenizer.model</c>,
    /// <c>tokenizer.bin</c>, or GPT-2's <c>encoder.json</c> + <c>vocab.bpe</c> (in that order of preference). A rank
    /// file whose name contains <c>cl100k</c> gets cl100k's pattern and special tokens, any other GPT-2's.
    /// </summary>
    public static Tokenizer Load(string path) => TokenizerFiles.Load(path);

    /// <summary>The tokenizer files a directory (a run, a prepared dataset, a model checkpoint) may hold, in the order <see cref="Load"/> prefers them.</summary>
    public static IReadOnlyList<string> DirectoryFileNames => TokenizerFiles.DirectoryFiles;
}
