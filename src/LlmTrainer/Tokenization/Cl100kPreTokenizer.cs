namespace LlmTrainer.Tokenization;

/// <summary>
/// <see cref="Patterns.Cl100k"/> as a scanner. Alternatives in the pattern's order: a contraction in
/// any case; letters with at most one leading non-newline, non-letter, non-digit character (taken
/// possessively); one to three digits; an optional space, symbols, then newlines; whitespace up to
/// its last newline; whitespace as in GPT-2's pattern.
/// </summary>
internal sealed class Cl100kPreTokenizer : PreTokenizer
{
    public override int Next(ReadOnlySpan<char> text, int start)
    {
        char c = text[start];
        if (c == '\'' && start + 1 < text.Length)
        {
            int n = ContractionLength(text, start + 1);
            if (n > 0)
                return start + 1 + n;
        }

        var kind = CharClass.At(text, start, out int length);
        if (kind == CharKind.Letter)
            return CharClass.SkipRun(text, start, CharKind.Letter);
        if (kind != CharKind.Number && c != '\r' && c != '\n'
            && start + length < text.Length && CharClass.At(text, start + length, out _) == CharKind.Letter)
            return CharClass.SkipRun(text, start + length, CharKind.Letter);

        if (kind == CharKind.Number)
        {
            int end = start + length;
            for (int digits = 1; digits < 3 && end < text.Length; digits++)
            {
                if (CharClass.At(text, end, out int l) != CharKind.Number)
                    break;
                end += l;
            }
            return end;
        }

        int symbols = -1;
        if (kind == CharKind.Other)
            symbols = start;
        else if (c == ' ' && start + 1 < text.Length && CharClass.At(text, start + 1, out _) == CharKind.Other)
            symbols = start + 1;
        if (symbols >= 0)
        {
            int end = CharClass.SkipRun(text, symbols, CharKind.Other);
            while (end < text.Length && text[end] is '\r' or '\n')
                end++;
            return end;
        }

        // Whitespace from here on.
        int runEnd = CharClass.SkipSpaces(text, start);
        for (int i = runEnd - 1; i >= start; i--)
        {
            if (text[i] is '\r' or '\n')
                return i + 1;
        }
        if (runEnd == text.Length || runEnd - start == 1)
            return runEnd;
        return runEnd - 1;
    }

    // (?i:[sdmt]|ll|ve|re) under simple case folding, where U+017F (long s) folds to 's'.
    private static int ContractionLength(ReadOnlySpan<char> text, int i)
    {
        char a = text[i];
        if (a is 's' or 'S' or '\u017F' or 'd' or 'D' or 'm' or 'M' or 't' or 'T')
            return 1;
        if (i + 1 >= text.Length)
            return 0;
        char b = char.ToLowerInvariant(text[i + 1]);
        a = char.ToLowerInvariant(a);
        return (a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e') ? 2 : 0;
    }
}
