using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Encodes as the <c>sentencepiece</c> library does for a BPE <c>tokenizer.model</c>: normalize (identity rules:
/// optional removal of extra spaces, the dummy-prefix space, spaces as U+2581), cut into characters and user-defined
/// symbols, merge by piece score (<see cref="ScoreMerger"/>), split unused pieces back into the pieces they were
/// merged from, and turn unknown characters into byte pieces (byte fallback) or <c>&lt;unk&gt;</c>, a run of unknown
/// characters into one <c>&lt;unk&gt;</c>.
/// </summary>
internal sealed class SentencePieceBpeEncoder : PieceEncoder
{
    private const char SpaceSymbol = '\u2581';

    private readonly Dictionary<string, int> _pieces;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[] _scores;
    private readonly PieceType[] _types;
    private readonly string[] _userDefined;
    private readonly int[] _byteIds;
    private readonly int _unkId;
    private readonly bool _byteFallback;
    private readonly bool _hasUnused;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;
    private readonly ScoreMerger.Lookup _scoreOf;
    private readonly WordCache? _words;

    public SentencePieceBpeEncoder(SentencePieceModel model, int[] byteIds, int unkId)
    {
        int n = model.Pieces.Count;
        _scores = new float[n];
        _types = new PieceType[n];
        _pieces = new Dictionary<string, int>(n, StringComparer.Ordinal);
        var userDefined = new List<string>();
        for (int id = 0; id < n; id++)
        {
            var (piece, score, type) = model.Pieces[id];
            _scores[id] = score;
            _types[id] = type;
            // Only these take part in merging; control, unknown and byte pieces are never produced from text.
            if (type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused)
                _pieces.TryAdd(piece, id);
            if (type == PieceType.UserDefined)
                userDefined.Add(piece);
            _hasUnused |= type == PieceType.Unused;
        }
        _lookup = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _userDefined = [.. userDefined.OrderByDescending(s => s.Length)];
        _byteIds = byteIds;
        _unkId = unkId;
        _byteFallback = model.ByteFallback;
        _addDummyPrefix = model.AddDummyPrefix;
        _removeExtraWhitespaces = model.RemoveExtraWhitespaces;
        _escapeWhitespaces = model.EscapeWhitespaces;
        _scoreOf = piece => _lookup.TryGetValue(piece, out int id) ? _scores[id] : null;
        // Words are independent unless unused pieces are split back (sentencepiece remembers their halves across the
        // whole text) or a run of unknown characters could continue into the next word (no byte fallback and no space piece).
        char space = _escapeWhitespaces ? SpaceSymbol : ' ';
        if (!_hasUnused && (_byteFallback || _pieces.ContainsKey(space.ToString())))
            _words = WordCache.For(_pieces.Keys, space);
    }

    public override void Encode(ReadOnlySpan<char> text, List<int> output, bool first)
    {
        var normalized = Normalize(text);
        if (normalized.Length == 0)
            return;
        if (_words is not null)
            _words.Encode(normalized, output, EncodeNormalized);
        else
            EncodeNormalized(normalized, output);
    }

    private void EncodeNormalized(string normalized, List<int> output)
    {
        var chars = normalized.AsSpan();

        var initial = new List<(int Start, int Length, bool Frozen)>(chars.Length);
        for (int i = 0; i < chars.Length;)
        {
            int length = MatchUserDefined(chars[i..]);
            bool frozen = length > 0;
            if (!frozen)
                length = char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]) ? 2 : 1;
            initial.Add((i, length, frozen));
            i += length;
        }

        // sentencepiece notes, for each queued pair that makes an unused piece, the pair it came from (the last one wins).
        Dictionary<string, (string, string)>? reverse = null;
        ScoreMerger.OnCandidate? onCandidate = null;
        if (_hasUnused)
        {
            reverse = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            onCandidate = (start, left, right) =>
            {
                var merged = normalized.Substring(start, left + right);
                if (_pieces.TryGetValue(merged, out int id) && _types[id] == PieceType.Unused)
                    reverse[merged] = (normalized.Substring(start, left), normalized.Substring(start + left, right));
            };
        }
        var symbols = new List<(int Start, int Length)>(initial.Count);
        ScoreMerger.Merge(chars, initial, _scoreOf, symbols, onCandidate);

        bool previousUnknown = false;
        foreach (var (start, length) in symbols)
            Emit(chars.Slice(start, length), reverse, output, ref previousUnknown);
    }

    private void Emit(ReadOnlySpan<char> piece, Dictionary<string, (string Left, string Right)>? reverse, List<int> output, ref bool previousUnknown)
    {
        if (_lookup.TryGetValue(piece, out int id))
        {
            if (_types[id] == PieceType.Unused && reverse is not null && reverse.TryGetValue(piece.ToString(), out var halves))
            {
                Emit(halves.Left, reverse, output, ref previousUnknown);
                Emit(halves.Right, reverse, output, ref previousUnknown);
                return;
            }
            output.Add(id);
            previousUnknown = false;
            return;
        }
        if (_byteFallback)
        {
            Span<byte> bytes = stackalloc byte[16];
            int n = Encoding.UTF8.GetBytes(piece, bytes);
            foreach (byte b in bytes[..n])
                output.Add(_byteIds[b]);
            previousUnknown = false;
            return;
        }
        // sentencepiece joins a run of unknown characters into one unknown piece.
        if (!previousUnknown)
            output.Add(_unkId);
        previousUnknown = true;
    }

    private int MatchUserDefined(ReadOnlySpan<char> text)
    {
        foreach (var symbol in _userDefined)
        {
            if (text.StartsWith(symbol, StringComparison.Ordinal))
                return symbol.Length;
        }
        return 0;
    }

    /// <summary>sentencepiece's normalizer with the identity rules (the only ones llmtrain accepts).</summary>
    private string Normalize(ReadOnlySpan<char> text)
    {
        int at = 0;
        if (_removeExtraWhitespaces)
        {
            while (at < text.Length && text[at] == ' ')
                at++;
        }
        if (at == text.Length)
            return "";
        char space = _escapeWhitespaces ? SpaceSymbol : ' ';
        var sb = new StringBuilder(text.Length + 1);
        if (_addDummyPrefix)
            sb.Append(space);
        bool previousSpace = _removeExtraWhitespaces;
        var scalars = new StringBuilder(text.Length - at);
        AppendScalars(text[at..], scalars, null);
        foreach (var chunk in scalars.GetChunks())
        {
            foreach (char c in chunk.Span)
            {
                if (c == ' ')
                {
                    if (!previousSpace)
                        sb.Append(space);
                    previousSpace = _removeExtraWhitespaces;
                }
                else
                {
                    sb.Append(c);
                    previousSpace = false;
                }
            }
        }
        if (_removeExtraWhitespaces)
        {
            while (sb.Length > 0 && sb[^1] == space)
                sb.Length--;
        }
        return sb.ToString();
    }
}
