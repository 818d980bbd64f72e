using System.Text.RegularExpressions;

namespace LlmTrainer.Tokenization;

/// <summary>Any pattern, through .NET's Regex; text between matches becomes a piece of its own, so nothing is dropped.</summary>
internal sealed class RegexPreTokenizer : PreTokenizer
{
    private readonly Regex _regex;

    public RegexPreTokenizer(string pattern)
    {
        try
        {
            _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new LlmTrainerException(
                $"pre-tokenisation pattern '{pattern}' is not a valid .NET regular expression ({e.Message}); " +
                "write possessive quantifiers such as '?+' or '++' as atomic groups '(?>...)'", e);
        }
    }

    public override int Next(ReadOnlySpan<char> text, int start)
    {
        foreach (var match in _regex.EnumerateMatches(text, start))
        {
            if (match.Length == 0)
                continue;
            return match.Index > start ? match.Index : start + match.Length;
        }
        return text.Length;
    }
}
