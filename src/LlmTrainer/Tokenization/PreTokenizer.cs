namespace LlmTrainer.Tokenization;

/// <summary>
/// Cuts text into pieces; BPE merges never cross a piece boundary. The two known patterns have
/// hand-written scanners that follow the regex exactly but classify whole code points (see
/// <see cref="CharClass"/>) and run several times faster; any other pattern goes through .NET's Regex.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>End (exclusive) of the piece that starts at <paramref name="start"/>; always greater than <paramref name="start"/>.</summary>
    public abstract int Next(ReadOnlySpan<char> text, int start);

    public static PreTokenizer Create(string pattern) => pattern switch
    {
        Patterns.Gpt2 => new Gpt2PreTokenizer(),
        Patterns.Cl100k or Patterns.Cl100kPossessive => new Cl100kPreTokenizer(),
        _ => new RegexPreTokenizer(pattern),
    };

    /// <summary>Appends the ranges of all pieces of <paramref name="text"/>, in order.</summary>
    public void Split(ReadOnlySpan<char> text, List<Range> pieces)
    {
        int pos = 0;
        while (pos < text.Length)
        {
            int end = Next(text, pos);
            pieces.Add(pos..end);
            pos = end;
        }
    }
}
