using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.Runs;
using LlmTrainer.TensorBoard;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Runs;

/// <summary>The runs table reads what training leaves in a run directory: config, metrics, event files, checkpoint state, lock.</summary>
public sealed class RunCatalogTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("llmtrain-runs-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static TrainConfig Config(string name, int maxIters) =>
        ConfigLoader.Load(["--max_iters", maxIters.ToString(System.Globalization.CultureInfo.InvariantCulture), "--warmup_iters", "5", "--name", name],
                new ConfigLoadOptions { Environment = new Dictionary<string, string>(), CheckDataPaths = false })
            .Config.Resolve(RuntimeCapabilities.CpuOnly, 2048) with { Device = "cpu" };

    /// <summary>A run directory as training leaves it: config.json, then metrics from <paramref name="log"/>.</summary>
    private string MakeRun(string dirName, TrainConfig cfg, DateTime started, Action<MetricsLog> log)
    {
        var path = Path.Combine(root, dirName);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, RunDirectory.ConfigFileName), ConfigJson.Render(cfg));
        File.SetLastWriteTimeUtc(Path.Combine(path, RunDirectory.ConfigFileName), started);
        using var metrics = new MetricsLog(Path.Combine(path, MetricsLog.FileName));
        log(metrics);
        return path;
    }

    [Fact]
    public void Each_state_is_told_apart_and_the_newest_run_comes_first()
    {
        var t0 = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        MakeRun("finished", Config("tiny", 20), t0, m =>
        {
            m.Eval(new EvalMetrics(0, 0, 7.6));
            m.Train(new TrainMetrics(10, 5.0, 1e-3, 1, 20480, 1000, 100));
            m.Eval(new EvalMetrics(10, 20480, 4.5, BitsPerByte: 1.9));
            m.Train(new TrainMetrics(20, 4.0, 1e-3, 1, 40960, 1000, 100));
            m.Eval(new EvalMetrics(20, 40960, 4.7));
        });
        var stopped = MakeRun("stopped", Config("15m", 100), t0.AddHours(1), m => m.Train(new TrainMetrics(10, 5.0, 1e-3, 1, 20480, 1000, 100)));
        // The checkpoint went further than the log (its metrics were cut back on a resume that then stopped, say).
        new CheckpointState { Step = 30, TokensSeen = 61440, ConfigHash = "x" }.Write(Directory.CreateDirectory(Path.Combine(stopped, "checkpoints", "latest")).FullName);
        MakeRun("diverged", Config("tiny", 100), t0.AddHours(2), m =>
        {
            m.Train(new TrainMetrics(10, 5.0, 1e-3, 1, 20480, 1000, 100));
            m.Event("diverged", 13, new Dictionary<string, object?> { ["loss"] = double.NaN, ["grad_norm"] = double.NaN });
        });
        var running = MakeRun("running", Config("tiny", 100), t0.AddHours(3), m => m.Train(new TrainMetrics(10, 5.0, 1e-3, 1, 20480, 1000, 100)));
        Directory.CreateDirectory(Path.Combine(root, "not-a-run"));

        IReadOnlyList<RunSummary> runs;
        using (RunLock.Acquire(running))
            runs = RunCatalog.List(root);
        Assert.Equal(["running", "diverged", "stopped", "finished"], runs.Select(r => r.Name));
        Assert.Equal([RunState.Running, RunState.FailedNaN, RunState.Stopped, RunState.Finished], runs.Select(r => r.State));
        // Without the lock, the same run is stopped.
        Assert.Equal(RunState.Stopped, RunCatalog.Read(running).State);

        var f = runs[3];
        Assert.Equal("tiny", f.Config);
        Assert.Equal(Config("tiny", 20).ToModelConfig().TotalParameters, f.Parameters);
        Assert.Equal((20L, 20L, 40960L), (f.Step, f.MaxIters, f.Tokens));
        Assert.Equal(4.5, f.BestValLoss);
        Assert.Equal(10, f.BestValStep);
        Assert.Equal(1.9, f.BitsPerByte);
        Assert.Equal(4.0, f.LastLoss);
        var s = runs[2];
        Assert.Equal("15m", s.Config);
        Assert.Equal((30L, 100L, 61440L), (s.Step, s.MaxIters, s.Tokens));
        Assert.Null(s.BestValLoss);
    }

    [Fact]
    public void Wall_time_sums_the_sessions_of_a_resumed_run_without_the_pause_between()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var path = Path.Combine(root, "resumed");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, RunDirectory.ConfigFileName), ConfigJson.Render(Config("tiny", 20)));
        var metricsPath = Path.Combine(path, MetricsLog.FileName);
        using (var m = new MetricsLog(metricsPath, clock))
        {
            clock.Advance(TimeSpan.FromSeconds(90));
            m.Train(new TrainMetrics(10, 5.0, 1e-3, 1, 20480, 1000, 100));
        }
        clock.Advance(TimeSpan.FromDays(2)); // a pause before the resume
        using (var m = new MetricsLog(metricsPath, clock))
        {
            clock.Advance(TimeSpan.FromSeconds(30));
            m.Train(new TrainMetrics(20, 4.0, 1e-3, 1, 40960, 1000, 100));
        }
        Assert.Equal(2, EventFileWriter.Find(path).Count);
        var run = RunCatalog.Read(path);
        Assert.Equal(120, run.WallTime.TotalSeconds, 1e-3);
        Assert.Equal(RunState.Finished, run.State);
    }

    [Fact]
    public void A_missing_directory_is_named()
    {
        var e = Assert.Throws<LlmTrainerException>(() => RunCatalog.List(Path.Combine(root, "nope")));
        Assert.Contains("nope", e.Message);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset now = now;

        public void Advance(TimeSpan by) => now += by;

        public override DateTimeOffset GetUtcNow() => now;
    }
}
