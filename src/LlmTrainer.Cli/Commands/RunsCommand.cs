using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LlmTrainer.Runs;
using LlmTrainer.Training;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain runs [DIR] [--json]</c>: the runs under DIR (default runs/), newest first: name, config, parameters,
/// steps done and planned, tokens, best val loss and its step, bits per byte, wall time and state.
/// </summary>
internal static class RunsCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "A directory of runs, or one run", DefaultValueFactory = _ => RunDirectory.DefaultRunsRoot };
        var json = new Option<bool>("--json") { Description = "One JSON object per run, in a JSON array" };
        var command = new Command("runs", "List the runs in a directory (default runs/), newest first: steps, tokens, best val loss, wall time, state")
        {
            dir, json,
        };
        command.SetAction(parse => Run(parse.GetValue(dir)!, parse.GetValue(json), parse.InvocationConfiguration.Output));
        return command;
    }

    public static int Run(string directory, bool json, TextWriter o)
    {
        // Before the first run there is no runs/ yet: nothing to list rather than an error.
        var runs = directory == RunDirectory.DefaultRunsRoot && !Directory.Exists(directory) ? [] : RunCatalog.List(directory);
        if (json)
        {
            o.WriteLine(JsonSerializer.Serialize(runs.Select(ToJson), new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        if (runs.Count == 0)
        {
            o.WriteLine($"no runs in {directory}; start one with 'llmtrain train'.");
            return 0;
        }
        var c = CultureInfo.InvariantCulture;
        TextTable.Write(o, ["run", "config", "params", "steps", "tokens", "best val", "at step", "bits/byte", "wall", "state"],
            runs.Select(r => new[]
            {
                r.Name, r.Config, r.Parameters is { } p ? Short(p) : "?", $"{r.Step.ToString(c)}/{r.MaxIters.ToString(c)}", Short(r.Tokens),
                r.BestValLoss?.ToString("F4", c) ?? "-", r.BestValStep?.ToString(c) ?? "-", r.BitsPerByte?.ToString("F4", c) ?? "-",
                Duration(r.WallTime), StateText(r.State),
            }).ToList(),
            new HashSet<int> { 0, 1, 9 });
        return 0;
    }

    public static string StateText(RunState state) => state switch
    {
        RunState.Running => "running",
        RunState.Finished => "finished",
        RunState.Stopped => "stopped",
        RunState.FailedNaN => "failed-NaN",
        _ => state.ToString(),
    };

    /// <summary>1.2K, 15.0M, 1.1B: counts of parameters and tokens at a glance.</summary>
    public static string Short(double n)
    {
        var c = CultureInfo.InvariantCulture;
        return n switch
        {
            >= 1e12 => (n / 1e12).ToString("F1", c) + "T",
            >= 1e9 => (n / 1e9).ToString("F2", c) + "B",
            >= 1e6 => (n / 1e6).ToString("F1", c) + "M",
            >= 1e3 => (n / 1e3).ToString("F1", c) + "K",
            _ => n.ToString("F0", c),
        };
    }

    public static string Duration(TimeSpan t) =>
        t.TotalDays >= 1 ? $"{(int)t.TotalDays}d{t.Hours:D2}h" :
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" :
        t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.TotalSeconds:F1}s";

    private static object ToJson(RunSummary r) => new Dictionary<string, object?>
    {
        ["name"] = r.Name,
        ["path"] = r.Path,
        ["config"] = r.Config,
        ["parameters"] = r.Parameters,
        ["step"] = r.Step,
        ["max_iters"] = r.MaxIters,
        ["tokens"] = r.Tokens,
        ["last_loss"] = Finite(r.LastLoss),
        ["best_val_loss"] = Finite(r.BestValLoss),
        ["best_val_step"] = r.BestValStep,
        ["bits_per_byte"] = Finite(r.BitsPerByte),
        ["wall_seconds"] = Math.Round(r.WallTime.TotalSeconds, 3),
        ["state"] = StateText(r.State),
        ["started_at"] = r.StartedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
    };

    private static double? Finite(double? x) => x is { } v && double.IsFinite(v) ? v : null;
}
