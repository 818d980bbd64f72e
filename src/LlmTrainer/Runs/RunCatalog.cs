using System.Globalization;
using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.TensorBoard;
using LlmTrainer.Training;

namespace LlmTrainer.Runs;

/// <summary>
/// Reads run directories into <see cref="RunSummary"/> lines, from what training leaves there: config.json, metrics.jsonl,
/// the TensorBoard event files (one per session, for the wall time), the latest checkpoint's state.json and the run lock.
/// A damaged file costs its run some columns, never the listing.
/// </summary>
public static class RunCatalog
{
    /// <summary>
    /// Every run in <paramref name="directory"/> (a directory of runs, or one run), newest first. Directories without a
    /// config.json are not runs and are left out.
    /// </summary>
    public static IReadOnlyList<RunSummary> List(string directory)
    {
        if (!Directory.Exists(directory))
            throw new LlmTrainerException($"'{directory}' does not exist; give a directory of runs (default {RunDirectory.DefaultRunsRoot}/) or one run.");
        IEnumerable<string> runs = File.Exists(Path.Combine(directory, RunDirectory.ConfigFileName))
            ? [directory]
            : Directory.EnumerateDirectories(directory).Where(d => File.Exists(Path.Combine(d, RunDirectory.ConfigFileName)));
        return runs.Select(Read)
            .OrderByDescending(r => r.StartedAt)
            .ThenByDescending(r => r.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The summary of one run directory.</summary>
    public static RunSummary Read(string runPath)
    {
        var run = RunDirectory.Open(runPath);
        var started = new DateTimeOffset(File.GetLastWriteTimeUtc(run.ConfigPath), TimeSpan.Zero);

        string configName = "?";
        long? parameters = null;
        long maxIters = 0;
        try
        {
            var config = ConfigLoader.Load([], new ConfigLoadOptions
            {
                Config = run.ConfigPath,
                CheckDataPaths = false,
                Environment = new Dictionary<string, string>(), // the run's config as written
            }).Config;
            configName = config.Name;
            maxIters = config.MaxIters;
            if (config.VocabSize > 0) parameters = config.ToModelConfig().TotalParameters;
        }
        catch (Exception e) when (e is LlmTrainerException or IOException or ArgumentException or JsonException)
        {
            // a config that no longer loads: the other columns still tell
        }

        var events = ReadMetrics(run.MetricsPath);
        long step = 0, tokens = 0;
        double? bestVal = null, bpb = null, lastLoss = null;
        long? bestStep = null;
        bool diverged = false;
        DateTimeOffset? first = null, last = null;
        foreach (var e in events)
        {
            var kind = e.TryGetProperty("event", out var k) ? k.GetString() : null;
            long at = e.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : 0;
            if (e.TryGetProperty("time", out var t) && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                first ??= time;
                last = time;
            }
            switch (kind)
            {
                case "train":
                    step = Math.Max(step, at);
                    if (MetricsLog.ReadNumber(e, "tokens") is { } tok) tokens = Math.Max(tokens, (long)tok);
                    lastLoss = MetricsLog.ReadNumber(e, "loss");
                    if (lastLoss is { } l && !double.IsFinite(l)) diverged = true;
                    break;
                case "eval":
                    if (MetricsLog.ReadNumber(e, "val_loss") is { } val && double.IsFinite(val) && (bestVal is null || val < bestVal))
                    {
                        bestVal = val;
                        bestStep = at;
                    }
                    if (MetricsLog.ReadNumber(e, "bits_per_byte") is { } b) bpb = b;
                    break;
                case "diverged":
                    diverged = true;
                    break;
            }
        }

        if (LatestState(run) is { } state)
        {
            step = Math.Max(step, state.Step);
            tokens = Math.Max(tokens, state.TokensSeen);
        }

        var wall = SessionTime(run.Path) ?? (first is { } f && last is { } l2 ? l2 - f : TimeSpan.Zero);
        var runState = RunLock.IsHeld(run.Path) ? RunState.Running
            : diverged ? RunState.FailedNaN
            : maxIters > 0 && step >= maxIters ? RunState.Finished
            : RunState.Stopped;
        return new RunSummary(run.Name, run.Path, configName, parameters, step, maxIters, tokens, bestVal, bestStep, bpb, wall, runState, started, lastLoss);
    }

    private static IReadOnlyList<JsonElement> ReadMetrics(string path)
    {
        if (!File.Exists(path)) return [];
        try
        {
            return MetricsLog.Read(path);
        }
        catch (Exception e) when (e is LlmTrainerException or IOException)
        {
            return [];
        }
    }

    private static CheckpointState? LatestState(RunDirectory run)
    {
        try
        {
            return run.Checkpoints.Find(CheckpointStore.Latest) is { } latest ? CheckpointState.Read(latest) : null;
        }
        catch (Exception e) when (e is LlmTrainerException or IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The time from the first to the last record of each session's event file, summed; null without event files.</summary>
    private static TimeSpan? SessionTime(string runPath)
    {
        var files = EventFileWriter.Find(runPath);
        if (files.Count == 0) return null;
        double seconds = 0;
        foreach (var file in files)
        {
            try
            {
                var events = EventFileWriter.Read(file);
                if (events.Count > 1) seconds += events[^1].WallTime - events[0].WallTime;
            }
            catch (Exception e) when (e is LlmTrainerException or IOException)
            {
                return null;
            }
        }
        return TimeSpan.FromSeconds(seconds);
    }

}
