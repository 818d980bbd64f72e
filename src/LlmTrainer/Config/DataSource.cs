namespace LlmTrainer.Config;

/// <summary>One prepared dataset in a training mixture, drawn with probability proportional to <paramref name="Weight"/>.</summary>
public sealed record DataSource(string Path, double Weight);
