namespace LlmTrainer.Tokenization;

/// <summary>
/// <see cref="Patterns.Gpt2"/> as a scanner. Alternatives in the pattern's order:
/// a lower-case contraction; an optional space then a run of letters, of numbers, or of other symbols;
/// a whitespace run that leaves its last character to the next piece when a non-space follows
/// (<c>\s+(?!\S)</c>); finally a single whitespace character.
/// </summary>
internal sealed class Gpt2PreTokenizer : PreTokenizer
{
    public override int Next(ReadOnlySpan<char> text, int start)
    {
        char c = text[start];
        if (c == '\'' && start + 1 < text.Length)
        {
            char c1 = text[start + 1];
            if (c1 is 's' or 't' or 'm' or 'd')
                return start + 2;
            if (start + 2 < text.Length)
            {
                char c2 = text[start + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
                    return start + 3;
            }
        }

        var kind = CharClass.At(text, start, out _);
        if (c == ' ' && start + 1 < text.Length)
        {
            var next = CharClass.At(text, start + 1, out _);
            if (next != CharKind.Space)
                return CharClass.SkipRun(text, start + 1, next);
        }
        if (kind != CharKind.Space)
            return CharClass.SkipRun(text, start, kind);

        int end = CharClass.SkipSpaces(text, start);
        if (end == text.Length || end - start == 1)
            return end;
        return end - 1;
    }
}
