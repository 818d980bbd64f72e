using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Encodes as llama2.c's <c>run.c</c> does with a <c>tokenizer.bin</c>: a space token first (the dummy prefix) when
/// the text is not empty, then each character's token, or its UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens when the
/// vocabulary lacks it, then repeatedly the adjacent pair whose concatenated text is a token with the highest score
/// (the leftmost on ties) is merged. Unlike sentencepiece, every token may result from a merge, and a literal U+2581
/// in the text is not a space: it falls back to its bytes.
/// </summary>
internal sealed class Llama2cEncoder : PieceEncoder
{
    /// <summary>run.c starts its search for the best pair at this score, so no pair scoring at most this merges.</summary>
    private const float NoScore = -1e10f;

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[] _scores;
    private readonly string[] _byteText = new string[256];
    private readonly ScoreMerger.Lookup _scoreOf;
    private readonly WordCache? _words;

    public Llama2cEncoder(IReadOnlyList<string> tokens, float[] scores)
    {
        _ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
            _ids.TryAdd(tokens[id], id);
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
        for (int b = 0; b < 256; b++)
            _byteText[b] = $"<0x{b:X2}>";
        _scoreOf = piece => _lookup.TryGetValue(piece, out int id) && _scores[id] > NoScore ? _scores[id] : null;
        _words = WordCache.For(tokens, ' ');
    }

    public override void Encode(ReadOnlySpan<char> text, List<int> output, bool first)
    {
        if (text.Length == 0)
            return;
        // The dummy prefix: a space before the text.
        var scalars = new StringBuilder(text.Length + 1).Append(' ');
        AppendScalars(text, scalars, null);
        string all = scalars.ToString();
        if (_words is not null)
            _words.Encode(all, output, EncodeWord);
        else
            EncodeWord(all, output);
    }

    private void EncodeWord(string text, List<int> output)
    {
        // The buffer holds each initial token's text (a byte token as "<0xXX>"), so neighbours concatenate as spans.
        var buffer = new StringBuilder(text.Length + 8);
        var initial = new List<(int Start, int Length, bool Frozen)>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            AddCharacter(text.AsSpan(i, length), buffer, initial);
            i += length - 1;
        }

        string joined = buffer.ToString();
        var symbols = new List<(int Start, int Length)>(initial.Count);
        ScoreMerger.Merge(joined, initial, _scoreOf, symbols);
        foreach (var (start, length) in symbols)
            output.Add(_lookup[joined.AsSpan(start, length)]);
    }

    private void AddCharacter(ReadOnlySpan<char> character, StringBuilder buffer, List<(int Start, int Length, bool Frozen)> initial)
    {
        if (_lookup.ContainsKey(character))
        {
            initial.Add((buffer.Length, character.Length, false));
            buffer.Append(character);
            return;
        }
        Span<byte> bytes = stackalloc byte[8];
        int n = Encoding.UTF8.GetBytes(character, bytes);
        foreach (byte b in bytes[..n])
        {
            initial.Add((buffer.Length, 6, false));
            buffer.Append(_byteText[b]);
        }
    }
}
