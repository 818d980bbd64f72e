namespace LlmTrainer.Config;

/// <summary>
/// One stage of a training curriculum (the <c>stages</c> key): the data mixture trained on until
/// <paramref name="Until"/>; the last stage has no end and runs to the end of training.
/// </summary>
public sealed record DataStage(StageEnd? Until, DataSpec Data);
