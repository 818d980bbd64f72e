using System.CommandLine;
using LlmTrainer.Cli.Plotting;
using LlmTrainer.Plotting;
using LlmTrainer.Training;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain plot [RUN…] [--out FILE.png|.svg] [--x step|tokens|time] [--log-x]</c>: train and val loss (smoothed and raw),
/// learning rate and tokens/s of one run or several overlaid.
/// </summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("RUN") { Description = "Run directories; default: the newest run under runs/", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<string?>("--out") { Description = "The image to write, .png or .svg; default RUN/loss.png for one run, runs.png for several" };
        var x = new Option<string>("--x") { Description = "The horizontal axis: step, tokens (compares runs of different batch sizes) or time (hours)", DefaultValueFactory = _ => "step" };
        x.AcceptOnlyFromAmong("step", "tokens", "time");
        var logX = new Option<bool>("--log-x") { Description = "A logarithmic horizontal axis" };
        var command = new Command("plot", "Plot runs' train and val loss, learning rate and tokens/s (PNG or SVG); several runs are overlaid")
        {
            runs, output, x, logX,
        };
        command.SetAction(parse =>
        {
            var axis = parse.GetValue(x) switch { "tokens" => PlotAxis.Tokens, "time" => PlotAxis.Time, _ => PlotAxis.Step };
            if (LossPlot.MissingFontsNote() is { } note) parse.InvocationConfiguration.Error.WriteLine($"warning: {note}");
            var path = Run(parse.GetValue(runs) ?? [], parse.GetValue(output), axis, parse.GetValue(logX));
            parse.InvocationConfiguration.Output.WriteLine($"wrote {path}");
            return 0;
        });
        return command;
    }

    /// <summary>Draws the runs; returns the file written.</summary>
    public static string Run(IReadOnlyList<string> runPaths, string? output, PlotAxis axis, bool logX)
    {
        if (runPaths.Count == 0)
        {
            var newest = RunDirectory.FindNewest(where: r => File.Exists(r.MetricsPath))
                ?? throw new LlmTrainerException($"there is no run with metrics under {RunDirectory.DefaultRunsRoot}/; name run directories, or train one with 'llmtrain train'.");
            runPaths = [newest.Path];
        }
        var curves = runPaths.Select(p => RunCurves.Read(p, axis)).ToList();
        var empty = curves.FirstOrDefault(c => c.IsEmpty);
        if (empty is not null)
            throw new LlmTrainerException($"run '{empty.Name}' has logged no loss yet; plot it after its first log line.");
        var path = output ?? (runPaths.Count == 1 ? Path.Combine(runPaths[0], LossPlotRefresher.FileName) : "runs.png");
        LossPlot.Save(curves, path, logX);
        return path;
    }
}
