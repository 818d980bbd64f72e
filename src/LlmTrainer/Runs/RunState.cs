namespace LlmTrainer.Runs;

/// <summary>Where a run stands, as its directory tells.</summary>
public enum RunState
{
    /// <summary>A process holds the run's lock (train.lock) now.</summary>
    Running,

    /// <summary>It reached max_iters.</summary>
    Finished,

    /// <summary>It ended before max_iters without diverging: Ctrl+C, a signal, a crash or a kill; <c>train --resume</c> goes on.</summary>
    Stopped,

    /// <summary>Its loss or gradient norm stopped being finite.</summary>
    FailedNaN,
}
