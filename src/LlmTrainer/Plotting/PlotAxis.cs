namespace LlmTrainer.Plotting;

/// <summary>What the horizontal axis of a run's curves counts.</summary>
public enum PlotAxis
{
    /// <summary>Optimizer steps.</summary>
    Step,

    /// <summary>Training tokens seen, which compares runs of different batch sizes.</summary>
    Tokens,

    /// <summary>Hours since the run's first record.</summary>
    Time,
}
