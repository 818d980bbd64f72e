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

    private static readonly Gpt2PreTokenizer Gpt2 = new();
    private static readonly Cl100kPreTokenizer Cl100k = new();

    // Compiling a regex costs milliseconds; instances are immutable and thread-safe, so share them.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RegexPreTokenizer> Compiled = new(StringComparer.Ordinal);

    public static PreTokenizer Create(string pattern) => pattern switch
    {
        Patterns.Gpt2 => Gpt2,
        Patterns.Cl100k or Patterns.Cl100kPossessive => Cl100k,
        _ => Compiled.GetOrAdd(pattern, static p => new RegexPreTokenizer(p)),
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
