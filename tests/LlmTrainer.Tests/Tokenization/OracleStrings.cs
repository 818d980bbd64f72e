using System.Text;

namespace LlmTrainer.Tests.Tokenization;

/// <summary>
/// The strings the Microsoft.ML.Tokenizers oracle tests compare on: hand-picked edge cases, the reference
/// fixture texts, the shared adversarial strings and seeded random mixes of character classes.
/// </summary>
internal static class OracleStrings
{
    private static readonly string[] Handpicked =
    [
        "", " ", "a", "\n", "\t", "\r", "\r\n",
        "it's", "don't", "we're", "they've", "I'm", "you'll", "he'd", "IT'S", "DON'T", "We'Re", "'s'S't'T're'RE",
        "''s", "' s", "x'sy", "'", "''''", "rock'n'roll",
        "7", "42", "123", "1234", "12345", "1234567890", "3141592653589793238462643383279502884197169399375105820974944592",
        "1.5", "-12.75e+10", "0x1F", "1,234,567", "۱۲۳۴۵", "१२३४", "Ⅷ", "²³", "½¾", "𝟙𝟚𝟛𝟜",
        "  ", "   ", "    x", "x    ", "x    y", "\n\n\n", "\n \n", "\t\t\tx", "x\t\t\t", " \t\n\r\u000b\u000c", "a \n b", "a\n\n b",
        "\u00a0\u00a0x", "\u3000東京", "\u2028\u2029", "\r\r\n\n", "x \r\n y", " \n\n  \n",
        "...", "!!!???", "--->", "(((", ")))]]]", "@#$%^&*()_+", "<>", "<<<>>>", "//**", "!\n", "?\r\n", ".\n\n", " ...\n",
        new string('a', 500), new string('z', 3000), string.Concat(Enumerable.Repeat("abc", 400)), "Pneumonoultramicroscopicsilicovolcanoconiosis",
        new string(' ', 300), new string('\n', 300), new string('.', 300), new string('9', 300), string.Concat(Enumerable.Repeat("😀", 100)),
        "你好世界", "日本語のテキスト", "한국어 텍스트", "中文，标点。", "東京タワー123",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇫🇷", "1️⃣", "❤️", "x😀y", " 😀 ", "😀😀😀",
        "e\u0301", "a\u0300\u0301\u0302\u0303", " \u0301", "\u0301\u0301\u0301", "Z\u0351\u0352\u0353", "\u0915\u094D\u0937", "ä", "a\u0308",
        "Привет мир", "Γειά σου", "مرحبا", "שלום", "ſ", "ﬁ", "Ａｂｃ",
        "\u0000", "\u0001\u001f\u007f", "\u200b", "\ufeff", "\ufffd",
        "<|endoftext|>", "a<|endoftext|>b", " <|endoftext|> ", "<|endoftext|><|endoftext|>", "<|endoftext", "|endoftext|>", "<|endofprompt|>",
        "<|fim_prefix|>x<|fim_middle|>y<|fim_suffix|>", "<|", "|>",
        "Hello, world! It's 2024-05-20 and the price is $1,234.56.\n\nNew paragraph:\tindented.",
        "def f(x):\n    return x ** 2  # square\n",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    ];

    private static readonly string[] Letters = ["a", "e", "t", "s", "Q", "Z", "é", "ß", "ж", "Ω", "東", "京", "中", "あ", "カ", "한", "ا", "א", "ก", "𝐀", "𠀀"];
    private static readonly string[] Marks = ["\u0301", "\u0300", "\u0308", "\u094D", "\u200d", "\ufe0f"];
    private static readonly string[] Emoji = ["😀", "👍", "🏽", "👨‍👩‍👧", "🇯🇵", "❤️", "🧑‍🚀", "⃣"];
    private static readonly string[] Spaces = [" ", "  ", "\n", "\t", "\r", "\r\n", "\u00a0", "\u3000", "\u2029", "\u000b"];
    private static readonly string[] Punctuation = [".", ",", "!", "?", "'", "\"", "-", "_", "(", ")", "<", ">", "|", "@", "#", "$", "%", "&", "*", "/", "\\", "…", "。", "、", "«"];
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D"];
    private static readonly string[] Specials = ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|endof", "text|>"];

    /// <summary>Seeded random strings, each a concatenation of up to 12 pieces from mixed character classes.</summary>
    public static IEnumerable<string> Random(int count, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int pieces = rng.Next(0, 13);
            for (int p = 0; p < pieces; p++)
            {
                switch (rng.Next(9))
                {
                    case 0: sb.Append(Word(rng, rng.Next(1, rng.Next(4) == 0 ? 80 : 10))); break;
                    case 1: Repeat(sb, rng, Marks, rng.Next(1, 4)); break;
                    case 2: Repeat(sb, rng, Emoji, rng.Next(1, 4)); break;
                    case 3: Repeat(sb, rng, Spaces, rng.Next(1, rng.Next(3) == 0 ? 30 : 4)); break;
                    case 4: Repeat(sb, rng, Punctuation, rng.Next(1, 8)); break;
                    case 5: sb.Append(Contractions[rng.Next(Contractions.Length)]); break;
                    case 6: for (int d = rng.Next(1, rng.Next(4) == 0 ? 40 : 6); d > 0; d--) sb.Append((char)('0' + rng.Next(10))); break;
                    case 7: sb.Append(Specials[rng.Next(Specials.Length)]); break;
                    default: sb.Append(rng.Next(3) == 0 ? "\u0660\u0661\u0662" : " "); break;
                }
            }
            yield return sb.ToString();
        }
    }

    /// <summary>Hand-picked strings, the reference fixture texts, the shared adversarial strings, then <paramref name="random"/> random ones.</summary>
    public static IReadOnlyList<string> All(int random = 3000, int seed = 1301)
        => [.. Handpicked, .. TokenizerTestData.Cases.Select(c => c.Text), .. TokenizerTestData.Adversarial(), .. Random(random, seed)];

    // The last two letters are outside the Basic Multilingual Plane; one word in ten may hold them.
    private static string Word(Random rng, int length)
    {
        var sb = new StringBuilder();
        int choices = rng.Next(10) == 0 ? Letters.Length : Letters.Length - 2;
        for (int i = 0; i < length; i++)
            sb.Append(Letters[rng.Next(choices)]);
        return sb.ToString();
    }

    private static void Repeat(StringBuilder sb, Random rng, string[] choices, int n)
    {
        for (int i = 0; i < n; i++)
            sb.Append(choices[rng.Next(choices.Length)]);
    }
}
