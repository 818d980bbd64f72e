using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Tokenization;

/// <summary>Fixture files and deterministic adversarial strings shared by the tokenizer tests.</summary>
internal static class TokenizerTestData
{
    public static string FixtureDir([CallerFilePath] string thisFile = "") => Path.Combine(Path.GetDirectoryName(thisFile)!, "Fixtures");

    public static string Fixture(string name) => Path.Combine(FixtureDir(), name);

    public sealed record Case(string Text, string[] Gpt2Pieces, string[] Cl100kPieces, int[] Gpt2Ids, int[] Cl100kIds);

    private static readonly Lazy<Case[]> CasesLazy = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture("expected.json")));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("text").GetString()!,
            [.. c.GetProperty("gpt2_pieces").EnumerateArray().Select(p => p.GetString()!)],
            [.. c.GetProperty("cl100k_pieces").EnumerateArray().Select(p => p.GetString()!)],
            [.. c.GetProperty("gpt2_ids").EnumerateArray().Select(p => p.GetInt32())],
            [.. c.GetProperty("cl100k_ids").EnumerateArray().Select(p => p.GetInt32())]))];
    });

    /// <summary>Strings with reference pieces and ids computed by make_fixtures.py (tiktoken's algorithm, Python's regex).</summary>
    public static IReadOnlyList<Case> Cases => CasesLazy.Value;

    private static readonly string[] Fragments =
    [
        // Scripts.
        "Hello", "world", "Привет", "мир", "Γειά σου", "مرحبا بالعالم", "שלום", "नमस्ते", "สวัสดี", "你好世界", "東京", "안녕하세요",
        "こんにちは", "カタカナ", "Ελληνικά", "ภาษาไทย", "ქართული", "Հայերեն",
        // Emoji: plain, skin tones, ZWJ families, flags, keycaps, variation selectors.
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇫🇷", "1️⃣", "❤️", "🧑🏿‍🚀", "👩‍❤️‍💋‍👨",
        // Combining marks and precomposed look-alikes.
        "e\u0301", "a\u0300\u0301\u0302\u0303", "Z\u0351\u0352\u0353\u0354", "é", "ñ", "\u0915\u094D\u0937",
        // Astral letters and digits.
        "𝐀𝐁𝐂", "𠀀𠀁", "𝟘𝟙𝟚", "𐍈",
        // Control characters and odd whitespace.
        "\u0000", "\u0001\u0002", "\u0007", "\u001b[31m", "\u001f", "\u007f", "\u0085", "\u009f", "\u00a0", "\u2000\u200a", "\u2028", "\u2029", "\u3000", "\ufeff", "\u200b", "\ufffd",
        // Whitespace runs.
        " ", "  ", "    ", "\t", "\t\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n ", new string(' ', 37), new string('\n', 9), " \t \t ",
        // Numbers, punctuation, contractions.
        "0", "12", "123456789", "3.14159", "1,000,000", "٣٤٥", "½", "Ⅻ", "...", "!?!", "\"", "'s", "'t", "'re", "'VE", "'ll", "'D", "''", "--", "(){}[]", "@#$%^&*", "ſ",
    ];

    /// <summary>Deterministic adversarial strings: random concatenations of the fragments above with random separators.</summary>
    public static IEnumerable<string> Adversarial(int count = 400, int seed = 20240520)
    {
        var rng = new Random(seed);
        string[] separators = ["", " ", "  ", "\n", "\t", "'", ".", "\r\n", "\u00a0"];
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int parts = rng.Next(1, 12);
            for (int p = 0; p < parts; p++)
            {
                sb.Append(Fragments[rng.Next(Fragments.Length)]);
                sb.Append(separators[rng.Next(separators.Length)]);
            }
            yield return sb.ToString();
        }
    }

    /// <summary>Story-like training text, with the fragments mixed in so that merges span every kind of character.</summary>
    public static IEnumerable<string> Corpus(int documents = 200, int seed = 7)
    {
        var rng = new Random(seed);
        foreach (var story in new SyntheticStories((ulong)seed).Stories(documents))
            yield return rng.Next(4) == 0 ? story + " " + Fragments[rng.Next(Fragments.Length)] : story;
    }
}
