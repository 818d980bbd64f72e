namespace LlmTrainer.Runs;

/// <summary>One line of <c>llmtrain runs</c>: what a run directory says about the run.</summary>
/// <param name="Name">The directory's name.</param>
/// <param name="Config">The config's name (its <c>name</c> key).</param>
/// <param name="Parameters">The model's parameter count; null when config.json does not load.</param>
/// <param name="Step">Optimizer steps done: the highest of the metrics and the latest checkpoint.</param>
/// <param name="MaxIters">Steps planned.</param>
/// <param name="Tokens">Training tokens seen so far.</param>
/// <param name="BestValLoss">The lowest validation loss logged, and <paramref name="BestValStep"/> its step.</param>
/// <param name="BitsPerByte">Validation bits per byte of the latest evaluation that measured it.</param>
/// <param name="WallTime">Time spent training: each session's first to last record, summed over sessions.</param>
/// <param name="StartedAt">When the run began (its config.json was written).</param>
public sealed record RunSummary(
    string Name, string Path, string Config, long? Parameters, long Step, long MaxIters, long Tokens, double? BestValLoss,
    long? BestValStep, double? BitsPerByte, TimeSpan WallTime, RunState State, DateTimeOffset StartedAt, double? LastLoss);
