namespace LlmTrainer.Evaluation;

/// <param name="BatchSize">Windows per forward pass.</param>
/// <param name="MaxTokens">Predict at most this many tokens (the first ones of the input); null for all.</param>
public sealed record EvalOptions(int BatchSize = EvalOptions.DefaultBatchSize, long? MaxTokens = null)
{
    public const int DefaultBatchSize = 8;
}
