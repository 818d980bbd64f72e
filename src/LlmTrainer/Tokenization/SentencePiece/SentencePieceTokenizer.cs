using System.Security.Cryptography;
using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// A SentencePiece-style vocabulary (Llama 2, TinyLlama, llama2.c): pieces that spell a space as U+2581, byte pieces
/// <c>&lt;0x00&gt;</c>…<c>&lt;0xFF&gt;</c> for characters the vocabulary lacks, and control pieces <c>&lt;s&gt;</c> (the
/// document start, <see cref="Tokenizer.BosId"/>) and <c>&lt;/s&gt;</c>. Read from a SentencePiece <c>tokenizer.model</c>
/// (encoded exactly as the <c>sentencepiece</c> library does), llama2.c's <c>tokenizer.bin</c> (encoded as its
/// <c>run.c</c> does) or a Llama-style Hugging Face <c>tokenizer.json</c> (encoded as <c>tokenizers</c> does).
/// </summary>
/// <remarks>
/// Decoding follows sentencepiece for every format: a space for U+2581, byte pieces joined into UTF-8 with one U+FFFD
/// per invalid byte, control pieces invisible, <c>&lt;unk&gt;</c> as " ⁇ ", and the dummy-prefix space dropped at the
/// start of a text. llama2.c's <c>tokenizer.bin</c> keeps run.c's rules instead: the leading space is dropped after
/// <c>&lt;s&gt;</c>, and <c>&lt;unk&gt;</c> shows as its text. <see cref="Tokenizer.Save"/> writes the file the tokenizer was
/// read from, byte for byte.
/// </remarks>
public sealed class SentencePieceTokenizer : Tokenizer
{
    private const char SpaceSymbol = '\u2581';

    private readonly TokenizerKind _kind;
    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly PieceType[] _types;
    private readonly byte[][] _bytes;
    private readonly bool[] _leadingSpace;
    private readonly PieceEncoder _encoder;
    private readonly byte[] _source;
    private readonly string _canonical;
    private readonly bool _stripsDummyPrefix;
    private readonly bool _removesExtraWhitespaces;
    private readonly (string Text, int Id)[] _specialsByLength;
    private string? _hash;

    internal SentencePieceTokenizer(TokenizerKind kind, string[] pieces, float[] scores, PieceType[] types, PieceEncoder encoder,
                                    int bosId, int eosId, string unkSurface, bool stripsDummyPrefix, bool removesExtraWhitespaces,
                                    byte[] source, string canonical)
    {
        _kind = kind;
        _pieces = pieces;
        _scores = scores;
        _types = types;
        _encoder = encoder;
        _source = source;
        _canonical = canonical;
        _stripsDummyPrefix = stripsDummyPrefix;
        _removesExtraWhitespaces = removesExtraWhitespaces;
        BosId = bosId;
        EosId = eosId;

        // llama2.c's tokenizer.bin spells spaces as spaces; the others as U+2581.
        char space = kind == TokenizerKind.Llama2c ? ' ' : SpaceSymbol;
        _bytes = new byte[pieces.Length][];
        _leadingSpace = new bool[pieces.Length];
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            string piece = pieces[id];
            switch (types[id])
            {
                case PieceType.Control:
                    _bytes[id] = [];
                    specials.TryAdd(ControlText(piece), id);
                    break;
                case PieceType.Byte:
                    _bytes[id] = [ByteValue(piece) ?? throw new LlmTrainerException($"byte piece {id} '{piece}' is not of the form <0xXX>")];
                    break;
                case PieceType.Unknown:
                    _bytes[id] = Encoding.UTF8.GetBytes(kind == TokenizerKind.Llama2c ? piece : unkSurface);
                    specials.TryAdd(piece, id);
                    break;
                default:
                    _bytes[id] = Encoding.UTF8.GetBytes(piece.Replace(SpaceSymbol, ' '));
                    _leadingSpace[id] = piece.Length > 0 && piece[0] == space;
                    break;
            }
        }
        SpecialTokens = specials;
        _specialsByLength = [.. specials.Select(kv => (kv.Key, kv.Value)).OrderByDescending(s => s.Key.Length).ThenBy(s => s.Key, StringComparer.Ordinal)];
    }

    public override TokenizerKind Kind => _kind;

    public override int VocabSize => _pieces.Length;

    public override int BosId { get; }

    public override int EosId { get; }

    public override IReadOnlyDictionary<string, int> SpecialTokens { get; }

    public override string FileName => _kind switch
    {
        TokenizerKind.SentencePiece => "tokenizer.model",
        TokenizerKind.Llama2c => "tokenizer.bin",
        _ => "tokenizer.json",
    };

    /// <summary>Hash of a canonical description: the format, the normalization, every piece with its type and score, and (tokenizer.json) the merges.</summary>
    public override string Hash => _hash ??= Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_canonical)));

    /// <summary>The piece of <paramref name="id"/> as the file has it (U+2581 for spaces, <c>&lt;0x0A&gt;</c> for a byte).</summary>
    public string Piece(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : throw OutOfVocabulary(id);

    public float Score(int id) => (uint)id < (uint)_scores.Length ? _scores[id] : throw OutOfVocabulary(id);

    public PieceType Type(int id) => (uint)id < (uint)_types.Length ? _types[id] : throw OutOfVocabulary(id);

    /// <summary>Whether encoding puts a space (U+2581) before a text: sentencepiece's add_dummy_prefix, run.c always.</summary>
    internal bool AddsDummyPrefix { get; init; } = true;

    /// <summary>Whether encoding collapses runs of spaces and trims the text (sentencepiece's remove_extra_whitespaces).</summary>
    internal bool RemovesExtraWhitespaces => _removesExtraWhitespaces;

    public override void Encode(ReadOnlySpan<char> text, List<int> output, bool allowSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!allowSpecial || _specialsByLength.Length == 0)
        {
            _encoder.Encode(text, output, first: true);
            return;
        }
        int pos = 0;
        while (true)
        {
            int bestAt = -1, best = -1;
            for (int s = 0; s < _specialsByLength.Length; s++)
            {
                int found = text[pos..].IndexOf(_specialsByLength[s].Text, StringComparison.Ordinal);
                if (found >= 0 && (bestAt < 0 || pos + found < bestAt))
                {
                    bestAt = pos + found;
                    best = s;
                }
            }
            if (best < 0)
                break;
            _encoder.Encode(text[pos..bestAt], output, first: pos == 0);
            output.Add(_specialsByLength[best].Id);
            pos = bestAt + _specialsByLength[best].Text.Length;
        }
        _encoder.Encode(text[pos..], output, first: pos == 0);
    }

    public override void Save(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        {
            stream.Write(_source);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    internal override byte[] Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : throw OutOfVocabulary(id);

    internal override bool ReplacesEachInvalidByte => true;

    internal override bool StartsText(int? previous)
        => previous is not int p || (_kind == TokenizerKind.Llama2c ? p == BosId : (uint)p < (uint)_types.Length && _types[p] == PieceType.Control);

    internal override ReadOnlySpan<byte> DecodeToken(int id, ref bool atStart)
    {
        var bytes = Bytes(id);
        if (_kind == TokenizerKind.Llama2c)
        {
            // run.c drops a token's leading space right after <s>.
            bool strip = atStart && _leadingSpace[id];
            atStart = id == BosId;
            return strip ? bytes.AsSpan(1) : bytes;
        }
        switch (_types[id])
        {
            case PieceType.Control:
                return bytes;
            case PieceType.Byte or PieceType.Unknown:
                atStart = false;
                return bytes;
            default:
                if (atStart && _stripsDummyPrefix && _leadingSpace[id])
                {
                    // sentencepiece drops the first piece's U+2581; removing extra whitespace, it keeps dropping while nothing is out.
                    atStart = _removesExtraWhitespaces && bytes.Length == 1;
                    return bytes.AsSpan(1);
                }
                atStart = false;
                return bytes;
        }
    }

    /// <summary>The value of a byte piece <c>&lt;0xXX&gt;</c> (two upper-case hex digits), or null.</summary>
    internal static byte? ByteValue(string piece)
    {
        if (piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b)
            && piece.AsSpan(3, 2).SequenceEqual($"{b:X2}"))
            return b;
        return null;
    }

    /// <summary>llama2.c's tokenizer.bin writes &lt;s&gt; as "\n&lt;s&gt;\n": the special token is the text between the newlines.</summary>
    private static string ControlText(string piece) => piece.Trim('\n');

    /// <summary>Reads a SentencePiece <c>tokenizer.model</c>.</summary>
    public static SentencePieceTokenizer LoadModel(string path)
    {
        byte[] data = ReadAll(path);
        string where = $"tokenizer file '{path}'";
        var model = SentencePieceModel.Parse(data, where);
        if (model.ModelType != SentencePieceModel.BpeModel)
            throw new LlmTrainerException($"{where} is a SentencePiece {(model.ModelType == SentencePieceModel.UnigramModel ? "unigram" : $"type-{model.ModelType}")} model; llmtrain reads SentencePiece BPE models (Llama 2, TinyLlama, llama2.c)");
        if (model.CharsmapLength > 0)
            throw new LlmTrainerException($"{where} normalizes text with the '{model.NormalizerName}' rules, which llmtrain does not implement; it reads models trained with normalization_rule_name=identity (Llama 2, TinyLlama, llama2.c)");
        if (model.TreatWhitespaceAsSuffix)
            throw new LlmTrainerException($"{where} was trained with treat_whitespace_as_suffix, which llmtrain does not implement; it reads models that prefix words with the space symbol (Llama 2, TinyLlama, llama2.c)");

        int n = model.Pieces.Count;
        var pieces = new string[n];
        var scores = new float[n];
        var types = new PieceType[n];
        var byteIds = new int[256];
        Array.Fill(byteIds, -1);
        int unk = -1, bos = -1, eos = -1;
        var canonical = new StringBuilder();
        canonical.Append("llmtrain-sentencepiece/1\nformat model\n")
                 .Append($"dummy_prefix {model.AddDummyPrefix} remove_extra_whitespaces {model.RemoveExtraWhitespaces} escape_whitespaces {model.EscapeWhitespaces} byte_fallback {model.ByteFallback} unk_surface {model.UnkSurface}\n");
        for (int id = 0; id < n; id++)
        {
            var (piece, score, type) = model.Pieces[id];
            (pieces[id], scores[id], types[id]) = (piece, score, type);
            canonical.Append((int)type).Append(' ').Append(BitConverter.SingleToInt32Bits(score)).Append(' ').Append(piece).Append('\n');
            switch (type)
            {
                case PieceType.Unknown:
                    if (unk >= 0)
                        throw new LlmTrainerException($"{where} has two unknown pieces ({unk} and {id})");
                    unk = id;
                    break;
                case PieceType.Byte:
                    if (!model.ByteFallback)
                        throw new LlmTrainerException($"{where} has the byte piece '{piece}' but byte_fallback is off; the file is inconsistent");
                    byteIds[ByteValue(piece) ?? throw new LlmTrainerException($"{where}: byte piece {id} '{piece}' is not of the form <0xXX>")] = id;
                    break;
                case PieceType.Control when piece == model.BosPiece:
                    bos = id;
                    break;
                case PieceType.Control when piece == model.EosPiece:
                    eos = id;
                    break;
            }
        }
        if (unk < 0)
            throw new LlmTrainerException($"{where} has no unknown piece (<unk>); the file is damaged or not a tokenizer.model");
        if (model.ByteFallback && Array.IndexOf(byteIds, -1) is int missing and >= 0)
            throw new LlmTrainerException($"{where} uses byte fallback but has no piece <0x{missing:X2}>; the file is damaged");
        if (bos < 0)
            throw new LlmTrainerException($"{where} has no control piece '{model.BosPiece}'; llmtrain starts every document with it (train the model with a bos_id)");
        if (eos < 0)
            eos = bos;
        var encoder = new SentencePieceBpeEncoder(model, byteIds, unk);
        return new SentencePieceTokenizer(TokenizerKind.SentencePiece, pieces, scores, types, encoder, bos, eos, model.UnkSurface,
            stripsDummyPrefix: model.AddDummyPrefix || model.RemoveExtraWhitespaces, model.RemoveExtraWhitespaces, data, canonical.ToString())
        {
            AddsDummyPrefix = model.AddDummyPrefix,
        };
    }

    internal static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new LlmTrainerException($"tokenizer file '{path}' does not exist", e);
        }
    }
}
