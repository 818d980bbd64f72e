using System.Diagnostics;
using LlmTrainer.Progress;

namespace LlmTrainer.Cli;

/// <summary>
/// Plain progress lines on standard error (so standard output stays clean for data), at most one line per
/// task every half second, plus the line that completes a task.
/// </summary>
internal sealed class ConsoleProgress(TextWriter? writer = null) : IConsoleProgress
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly Dictionary<string, TimeSpan> _lastLine = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();

    public void Report(ProgressUpdate update)
    {
        if (update.LiveOnly)
            return;
        lock (_lock)
        {
            var now = _clock.Elapsed;
            bool done = update.Total is { } total && update.Completed >= total;
            if (!done && _lastLine.TryGetValue(update.Task, out var last) && now - last < Interval)
                return;
            _lastLine[update.Task] = now;
            string amount = update.Total is { } t ? $"{update.Completed:0.#}/{t:0.#} {update.Unit}" : $"{update.Completed:0.#} {update.Unit}";
            string detail = update.Detail is null ? "" : $" ({update.Detail})";
            _writer.WriteLine($"[{now:mm\\:ss}] {update.Task}: {amount}{detail}");
        }
    }

    public void Info(string message)
    {
        lock (_lock)
            _writer.WriteLine(message);
    }

    public void Warn(string message)
    {
        lock (_lock)
            _writer.WriteLine($"warning: {message}");
    }

    public void Dispose() { }

    /// <summary>Progress bars when <paramref name="writer"/> is a terminal, plain lines otherwise (pipes, files, CI).</summary>
    public static IConsoleProgress Create(TextWriter writer) =>
        LiveProgress.IsTerminal(writer) ? LiveProgress.ForTerminal(writer) : new ConsoleProgress(writer);
}
