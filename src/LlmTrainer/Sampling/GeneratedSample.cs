namespace LlmTrainer.Sampling;

/// <summary>
/// One continuation of a prompt: its text (without the prompt, the end-of-text token or the stop string), the tokens
/// generated for it (without the end-of-text token) and why it ended. Beam search also gives the hypothesis'
/// length-penalised score.
/// </summary>
public sealed record GeneratedSample(string Text, IReadOnlyList<int> Tokens, StopReason StopReason, double? Score = null);
