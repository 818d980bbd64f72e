using System.Globalization;

namespace LlmTrainer.Tokenization;

/// <summary>The character classes the pre-tokenisation patterns distinguish: <c>\p{L}</c>, <c>\p{N}</c>, <c>\s</c>, the rest.</summary>
internal enum CharKind : byte
{
    Letter,
    Number,
    Space,
    Other,
}

/// <summary>
/// Classifies whole code points (a surrogate pair counts as one, as in tiktoken's and Python's regex
/// engines), which .NET's <see cref="System.Text.RegularExpressions.Regex"/> cannot: it sees the two halves
/// of an astral letter such as U+1D400 as two non-letters. A lone surrogate is <see cref="CharKind.Other"/>.
/// </summary>
internal static class CharClass
{
    // One byte per BMP code unit: 64 KiB, built once, so the hot path is a table read.
    private static readonly CharKind[] Bmp = BuildBmp();

    private static CharKind[] BuildBmp()
    {
        var table = new CharKind[65536];
        for (int c = 0; c < table.Length; c++)
            table[c] = char.IsSurrogate((char)c) ? CharKind.Other : FromCategory(c, char.IsWhiteSpace((char)c));
        return table;
    }

    private static CharKind FromCategory(int codePoint, bool whiteSpace)
    {
        if (whiteSpace)
            return CharKind.Space;
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharKind.Number,
            _ => CharKind.Other,
        };
    }

    /// <summary>The kind of the code point at <paramref name="index"/> and how many UTF-16 units it takes.</summary>
    public static CharKind At(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return FromCategory(char.ConvertToUtf32(c, text[index + 1]), whiteSpace: false);
        }
        length = 1;
        return Bmp[c];
    }

    /// <summary>End of the run of code points of <paramref name="kind"/> starting at <paramref name="index"/>.</summary>
    public static int SkipRun(ReadOnlySpan<char> text, int index, CharKind kind)
    {
        while (index < text.Length)
        {
            if (At(text, index, out int length) != kind)
                break;
            index += length;
        }
        return index;
    }

    /// <summary>End of the whitespace run starting at <paramref name="index"/> (all whitespace is in the BMP).</summary>
    public static int SkipSpaces(ReadOnlySpan<char> text, int index)
    {
        while (index < text.Length && Bmp[text[index]] == CharKind.Space)
            index++;
        return index;
    }
}
