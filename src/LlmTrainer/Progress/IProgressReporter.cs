namespace LlmTrainer.Progress;

/// <summary>
/// How long-running work in the library talks to the user. The CLI renders it (progress bars on a
/// terminal, plain lines otherwise); tests collect it.
/// </summary>
public interface IProgressReporter
{
    /// <summary>Progress of one named task; <paramref name="update"/> replaces the previous one with the same task name.</summary>
    void Report(ProgressUpdate update);

    void Info(string message);

    void Warn(string message);
}

/// <param name="Task">Short task name, e.g. "encode".</param>
/// <param name="Completed">Units done so far.</param>
/// <param name="Total">Units in all, when known (drives the ETA).</param>
/// <param name="Unit">What a unit is: "MB", "docs", "steps".</param>
/// <param name="Detail">Free text shown beside the bar (rates, loss…).</param>
/// <param name="LiveOnly">
/// Only for a live display (a progress bar on a terminal): plain output leaves it out because an
/// <see cref="IProgressReporter.Info"/> line already says the same (training's log line).
/// </param>
public sealed record ProgressUpdate(string Task, double Completed, double? Total, string Unit, string? Detail = null, bool LiveOnly = false);

/// <summary>Discards everything; the default when a caller does not care.</summary>
public sealed class NullProgress : IProgressReporter
{
    public static readonly NullProgress Instance = new();

    public void Report(ProgressUpdate update) { }

    public void Info(string message) { }

    public void Warn(string message) { }
}
