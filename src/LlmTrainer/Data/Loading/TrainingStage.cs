using LlmTrainer.Config;

namespace LlmTrainer.Data;

/// <summary>One stage of the training data: each dataset's weight (0: not drawn from) until <paramref name="Until"/>.</summary>
/// <param name="Description">The mixture as the config gives it, for the log.</param>
public sealed record TrainingStage(StageEnd? Until, double[] Weights, string Description);
