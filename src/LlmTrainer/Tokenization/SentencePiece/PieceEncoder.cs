namespace LlmTrainer.Tokenization;

/// <summary>One file format's way of turning text into piece ids (special tokens already cut out).</summary>
internal abstract class PieceEncoder
{
    /// <param name="first">Whether <paramref name="text"/> starts the input (not a segment after a special token).</param>
    public abstract void Encode(ReadOnlySpan<char> text, List<int> output, bool first);

    /// <summary>Appends the scalar values of <paramref name="text"/> to <paramref name="output"/>, a lone surrogate as U+FFFD (as UTF-8 encoding makes it).</summary>
    protected static void AppendScalars(ReadOnlySpan<char> text, System.Text.StringBuilder output, List<(int Start, int Length, bool Frozen)>? symbols)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int start = output.Length;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                output.Append(c).Append(text[++i]);
            }
            else
            {
                output.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
            symbols?.Add((start, output.Length - start, false));
        }
    }
}
