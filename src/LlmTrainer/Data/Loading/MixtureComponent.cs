namespace LlmTrainer.Data;

/// <summary>One dataset of a mixture; each sequence comes from it with probability Weight / (sum of weights).</summary>
public sealed record MixtureComponent(TokenDataset Dataset, double Weight);
