using System.Text;
using System.Text.RegularExpressions;
using LlmTrainer.Tokenization;
using Tokenizer = LlmTrainer.Tokenization.Tokenizer;

namespace LlmTrainer.Tests.Tokenization;

/// <summary>
/// Compares our encoders with a Microsoft.ML.Tokenizers oracle on a set of strings: the same ids, and both
/// decoding them back to the string.
/// <para>
/// Known deviation of the oracle: .NET regular expressions test <c>\p{L}</c> and <c>\p{N}</c> on UTF-16 code
/// units, so ML.Tokenizers' pre-tokenizer sees a letter or digit outside the Basic Multilingual Plane (𝐀 U+1D400,
/// 𠀀 U+20000, 𝟘 U+1D7D8) as two non-letter surrogates, where tiktoken's regex, on code points, sees a letter or
/// digit: "𝐀't" is 𝐀 + 't for tiktoken, 𝐀' + t for the oracle. Strings with such characters are compared only
/// after our own pre-tokenization (the oracle then checks the merges alone); our split of them is checked against
/// tiktoken's regex by the reference fixtures (make_fixtures.py). Hugging Face's byte-level pre-tokenizer, on code
/// points too, splits as tiktoken does.
/// </para>
/// </summary>
internal static class OracleComparison
{
    // tiktoken's patterns as tiktoken spells them; cl100k's possessive quantifiers dropped, which changes no match
    // there because what follows each one can never match the characters it gave back.
    public const string Gpt2Regex = @"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Cl100kRegex = @"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+";

    /// <summary>
    /// Compares every string; those the oracle's pre-tokenizer cannot split as tiktoken does (see the class
    /// summary) are encoded by the oracle piece by piece, on our pieces. Returns how many strings were compared
    /// whole and piece by piece.
    /// </summary>
    public static (int Whole, int ByPiece) CompareAll(IEnumerable<string> strings, Tokenizer ours, Microsoft.ML.Tokenizers.Tokenizer oracle, bool allowSpecial)
    {
        int whole = 0, byPiece = 0;
        var failures = new List<string>();
        var pre = LlmTrainer.Tokenization.PreTokenizer.Create(((ByteLevelBpeTokenizer)ours).Pattern);
        foreach (var s in strings)
        {
            var actual = ours.Encode(s, allowSpecial);
            IReadOnlyList<int> expected;
            if (!HasAstralLetterOrDigit(s))
            {
                whole++;
                expected = oracle.EncodeToIds(s);
            }
            else
            {
                byPiece++;
                expected = ByOurPieces(s, ours, oracle, pre, allowSpecial);
            }
            if (!expected.SequenceEqual(actual))
                failures.Add($"{Show(s)}: ML.Tokenizers [{string.Join(",", expected)}], ours [{string.Join(",", actual)}]");
            else if (oracle.Decode(expected) is var decoded && (decoded != s || ours.Decode(actual) != s))
                failures.Add($"{Show(s)}: decodes as '{Show(decoded!)}' (ML.Tokenizers), '{Show(ours.Decode(actual))}' (ours)");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {whole + byPiece} strings differ:\n{string.Join("\n", failures.Take(20))}");
        Assert.True(byPiece > 100, $"only {byPiece} strings compared piece by piece");
        return (whole, byPiece);
    }

    /// <summary>The oracle's ids for <paramref name="s"/> cut into our pre-tokenization pieces, and at special-token strings first when <paramref name="allowSpecial"/>.</summary>
    private static List<int> ByOurPieces(string s, Tokenizer ours, Microsoft.ML.Tokenizers.Tokenizer oracle, LlmTrainer.Tokenization.PreTokenizer pre, bool allowSpecial)
    {
        var ids = new List<int>();
        int pos = 0;
        while (pos < s.Length)
        {
            // The next special-token string (the longest, where several start at the same place), or the end.
            int next = s.Length;
            KeyValuePair<string, int>? special = null;
            if (allowSpecial)
            {
                foreach (var pair in ours.SpecialTokens)
                {
                    int at = s.IndexOf(pair.Key, pos, StringComparison.Ordinal);
                    if (at >= 0 && (at < next || (at == next && pair.Key.Length > special!.Value.Key.Length)))
                        (next, special) = (at, pair);
                }
            }
            for (int end; pos < next; pos = end)
            {
                end = pre.Next(s.AsSpan(0, next), pos);
                ids.AddRange(oracle.EncodeToIds(s[pos..end], considerPreTokenization: false, considerNormalization: false));
            }
            if (special is { } found)
            {
                ids.Add(found.Value);
                pos += found.Key.Length;
            }
        }
        return ids;
    }

    public static bool HasAstralLetterOrDigit(string s)
        => s.EnumerateRunes().Any(r => r.Value > 0xFFFF && (Rune.IsLetter(r) || Rune.IsNumber(r)));

    public static string Show(string s) => s.Length > 200 ? Regex.Escape(s[..200]) + "…" : Regex.Escape(s);
}
