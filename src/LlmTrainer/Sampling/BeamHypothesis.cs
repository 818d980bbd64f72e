namespace LlmTrainer.Sampling;

/// <summary>
/// A sequence beam search kept: the generated tokens (ending with the end-of-text token when <see cref="Finished"/> by
/// it), the sum of their log-probabilities, and the score Σ log p / length^α it is ranked by.
/// </summary>
public sealed record BeamHypothesis(IReadOnlyList<int> Tokens, double SumLogProb, double Score, bool Finished);
