namespace LlmTrainer.Plotting;

/// <summary>One curve: points in order of the horizontal axis; non-finite values are left out.</summary>
public sealed record Series(string Label, double[] X, double[] Y)
{
    public int Count => X.Length;
}
