using LlmTrainer.Progress;
using Spectre.Console;

namespace LlmTrainer.Cli.Tests;

public sealed class LiveProgressTests
{
    private static (LiveProgress Progress, StringWriter Output) Create()
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
        });
        return (new LiveProgress(console), output);
    }

    [Fact]
    public void Shows_bars_and_info_lines_and_leaves_the_final_state()
    {
        var (progress, output) = Create();
        using (progress)
        {
            progress.Info("run         runs/tiny");
            for (int step = 1; step <= 50; step++)
                progress.Report(new ProgressUpdate("train", step, 50, "steps", $"loss {5.0 / step:F3}", LiveOnly: true));
            progress.Report(new ProgressUpdate("download", 3.5, null, "MB"));
            progress.Warn("a [bracketed] warning");
        }

        var text = output.ToString();
        Assert.Contains("run         runs/tiny", text);
        Assert.Contains("train: 50/50 steps (loss 0.100)", text);
        Assert.Contains("download: 3.5 MB", text);
        Assert.Contains("a [bracketed] warning", text);
    }

    [Fact]
    public void Disposing_twice_and_reporting_after_dispose_are_harmless()
    {
        var (progress, output) = Create();
        progress.Report(new ProgressUpdate("prepare", 1, 2, "MB"));
        progress.Dispose();
        progress.Dispose();
        progress.Report(new ProgressUpdate("prepare", 2, 2, "MB"));
        Assert.Contains("prepare: 1/2 MB", output.ToString());
        Assert.DoesNotContain("prepare: 2/2 MB", output.ToString());
    }

    [Fact]
    public void Plain_progress_leaves_out_live_only_updates()
    {
        var output = new StringWriter();
        using var progress = new ConsoleProgress(output);
        progress.Report(new ProgressUpdate("train", 1, 10, "steps", LiveOnly: true));
        progress.Report(new ProgressUpdate("prepare", 1, 10, "MB"));
        Assert.DoesNotContain("train", output.ToString());
        Assert.Contains("prepare: 1/10 MB", output.ToString());
    }

    [Fact]
    public void Redirected_writers_are_not_terminals()
    {
        Assert.False(LiveProgress.IsTerminal(new StringWriter()));
        Assert.IsType<ConsoleProgress>(ConsoleProgress.Create(new StringWriter()));
    }
}
