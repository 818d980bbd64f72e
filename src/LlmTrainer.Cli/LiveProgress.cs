using LlmTrainer.Progress;
using Spectre.Console;

namespace LlmTrainer.Cli;

/// <summary>
/// Progress bars on a terminal (Spectre.Console): one bar per task, with rate and time left, and the
/// <see cref="Info"/> lines scrolling above them. The display starts with the first update and ends at
/// <see cref="Dispose"/>, leaving the final bars on screen.
/// </summary>
internal sealed class LiveProgress : IConsoleProgress
{
    private readonly IAnsiConsole _console;
    private readonly Dictionary<string, ProgressTask> _tasks = [];
    private readonly Lock _lock = new();
    private readonly ManualResetEventSlim _stop = new();
    private readonly TaskCompletionSource<ProgressContext> _context = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _display;
    private bool _disposed;

    public LiveProgress(IAnsiConsole console) => _console = console;

    /// <summary>The console writing to <paramref name="writer"/>, with colours and live redraws.</summary>
    public static LiveProgress ForTerminal(TextWriter writer) =>
        new(AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.Detect,
            Interactive = InteractionSupport.Yes,
        }));

    /// <summary>Whether <paramref name="writer"/> is a terminal that can show live progress (not redirected, not TERM=dumb).</summary>
    public static bool IsTerminal(TextWriter writer)
    {
        if (Environment.GetEnvironmentVariable("TERM") is "dumb" || Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
            return false;
        if (ReferenceEquals(writer, Console.Out)) return !Console.IsOutputRedirected;
        if (ReferenceEquals(writer, Console.Error)) return !Console.IsErrorRedirected;
        return false;
    }

    public void Report(ProgressUpdate update)
    {
        lock (_lock)
        {
            if (_disposed) return;
            var context = Start();
            if (!_tasks.TryGetValue(update.Task, out var task))
            {
                task = context.AddTask(Markup.Escape(update.Task), new ProgressTaskSettings { AutoStart = true, MaxValue = update.Total ?? 1 });
                _tasks[update.Task] = task;
            }
            task.IsIndeterminate = update.Total is null;
            if (update.Total is { } total) task.MaxValue = Math.Max(total, 1e-9);
            task.Value = update.Total is null ? 0 : update.Completed;
            var amount = update.Total is { } t ? $"{update.Completed:0.#}/{t:0.#} {update.Unit}" : $"{update.Completed:0.#} {update.Unit}";
            task.Description = Markup.Escape($"{update.Task}: {amount}{(update.Detail is null ? "" : $" ({update.Detail})")}");
        }
    }

    public void Info(string message)
    {
        lock (_lock)
            _console.WriteLine(message);
    }

    public void Warn(string message)
    {
        lock (_lock)
            _console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(message)}");
    }

    private ProgressContext Start()
    {
        if (_display is null)
        {
            _display = Task.Factory.StartNew(() =>
            {
                try
                {
                    _console.Progress()
                        .AutoClear(false)
                        .HideCompleted(false)
                        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                            new ElapsedTimeColumn(), new RemainingTimeColumn())
                        .Start(context =>
                        {
                            _context.SetResult(context);
                            _stop.Wait();
                        });
                }
                catch (Exception e)
                {
                    _context.TrySetException(e);
                }
            }, TaskCreationOptions.LongRunning);
        }
        return _context.Task.GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        Task? display;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            display = _display;
        }
        _stop.Set();
        display?.GetAwaiter().GetResult();
    }
}
