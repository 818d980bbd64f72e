using System.Buffers.Binary;
using System.Text;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// Writes a SentencePiece <c>tokenizer.model</c> (a <c>ModelProto</c>) for a vocabulary read from llama2.c's
/// tokenizer.bin, as the Llama 2 tokenizer.model it was made from is laid out: a BPE model with byte fallback, the
/// pieces (U+2581 for a space) with their scores and types, &lt;unk&gt; 0, &lt;s&gt; 1 and &lt;/s&gt; 2, and the identity
/// normalizer with a dummy prefix and spaces kept as they are — which is how run.c encodes.
/// </summary>
internal static class SentencePieceModelFile
{
    public const string FileName = "tokenizer.model";

    private const int BpeModel = 2;

    /// <summary>The pieces in sentencepiece's spelling; an error when they do not make a tokenizer.model (an empty or repeated piece, no &lt;unk&gt;).</summary>
    public static string[] Pieces(SentencePieceTokenizer tokenizer)
    {
        var pieces = Enumerable.Range(0, tokenizer.VocabSize).Select(id => SentencePieceVocab.ModelPiece(tokenizer, id)).ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var piece in pieces)
        {
            if (piece.Length == 0 || !seen.Add(piece))
                throw new LlmTrainerException(
                    $"--format hf: this run's {SentencePieceVocab.Describe(tokenizer)} has the piece '{piece}' {(piece.Length == 0 ? "empty" : "twice")}, which a tokenizer.model cannot hold; export it with --format llama2c or --format gguf.");
        }
        if (!Enumerable.Range(0, tokenizer.VocabSize).Any(id => tokenizer.Type(id) == PieceType.Unknown))
            throw new LlmTrainerException(
                $"--format hf: this run's {SentencePieceVocab.Describe(tokenizer)} has no <unk> piece, which a tokenizer.model needs; export it with --format llama2c or --format gguf.");
        return pieces;
    }

    public static void Write(string path, SentencePieceTokenizer tokenizer)
    {
        var pieces = Pieces(tokenizer);
        var unk = SentencePieceVocab.UnknownId(tokenizer);

        var model = new MemoryStream();
        for (int id = 0; id < pieces.Length; id++)
        {
            var piece = new MemoryStream();
            String(piece, 1, pieces[id]);
            Fixed32(piece, 2, tokenizer.Score(id));
            Varint(piece, 3, (ulong)tokenizer.Type(id));
            Message(model, 1, piece);
        }
        var trainer = new MemoryStream();
        Varint(trainer, 3, BpeModel);
        Varint(trainer, 4, (ulong)pieces.Length);
        Varint(trainer, 35, 1); // byte_fallback
        Varint(trainer, 40, (ulong)unk);
        Varint(trainer, 41, (ulong)tokenizer.BosId);
        Varint(trainer, 42, (ulong)tokenizer.EosId);
        Varint(trainer, 43, ulong.MaxValue); // pad_id -1: none
        String(trainer, 45, pieces[unk]);
        String(trainer, 46, pieces[tokenizer.BosId]);
        String(trainer, 47, pieces[tokenizer.EosId]);
        Message(model, 2, trainer);
        var normalizer = new MemoryStream();
        String(normalizer, 1, "identity");
        Varint(normalizer, 3, tokenizer.AddsDummyPrefix ? 1u : 0u);
        Varint(normalizer, 4, tokenizer.RemovesExtraWhitespaces ? 1u : 0u);
        Varint(normalizer, 5, 1); // escape_whitespaces
        Message(model, 3, normalizer);

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        model.Position = 0;
        model.CopyTo(stream);
        stream.Flush(flushToDisk: true);
    }

    private static void Tag(Stream s, int field, int wire) => Raw(s, (ulong)((field << 3) | wire));

    private static void Raw(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private static void Varint(Stream s, int field, ulong value)
    {
        Tag(s, field, 0);
        Raw(s, value);
    }

    private static void Fixed32(Stream s, int field, float value)
    {
        Tag(s, field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        s.Write(bytes);
    }

    private static void Bytes(Stream s, int field, ReadOnlySpan<byte> bytes)
    {
        Tag(s, field, 2);
        Raw(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void String(Stream s, int field, string text) => Bytes(s, field, Encoding.UTF8.GetBytes(text));

    private static void Message(Stream s, int field, MemoryStream message) => Bytes(s, field, message.GetBuffer().AsSpan(0, (int)message.Length));
}
