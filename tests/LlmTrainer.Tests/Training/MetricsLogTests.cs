using System.Text.Json;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

public sealed class MetricsLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmtrain-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string MetricsPath => Path.Combine(_dir, "run", MetricsLog.FileName);

    [Fact]
    public void Each_event_is_one_flushed_json_line()
    {
        using var log = new MetricsLog(MetricsPath);
        log.Train(new TrainMetrics(10, 3.5, 1e-3, 0.8, 40960, 12345.5, 331.7, Mfu: 0.41));
        // Readable before the log is closed: each line is flushed as it is written.
        var first = File.ReadAllText(MetricsPath, System.Text.Encoding.UTF8);
        Assert.EndsWith("\n", first);
        Assert.Single(first.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        log.Eval(new EvalMetrics(10, 40960, ValLoss: Math.Log(20), TrainLoss: 2.9));
        log.Event("checkpoint", 10, new Dictionary<string, object?> { ["slot"] = "latest", ["seconds"] = 1.5, ["best"] = true, ["bytes"] = 1024L });

        var events = MetricsLog.Read(MetricsPath);
        Assert.Equal(["train", "eval", "checkpoint"], events.Select(e => e.GetProperty("event").GetString()));
        var train = events[0];
        Assert.Equal(10, train.GetProperty("step").GetInt64());
        Assert.Equal(3.5, train.GetProperty("loss").GetDouble());
        Assert.Equal(1e-3, train.GetProperty("lr").GetDouble());
        Assert.Equal(0.8, train.GetProperty("grad_norm").GetDouble());
        Assert.Equal(40960, train.GetProperty("tokens").GetInt64());
        Assert.Equal(0.41, train.GetProperty("mfu").GetDouble());
        Assert.False(train.TryGetProperty("peak_memory_mb", out _));
        Assert.True(DateTimeOffset.TryParse(train.GetProperty("time").GetString(), out _));
        Assert.Equal(20, events[1].GetProperty("val_ppl").GetDouble(), 1e-9);
        Assert.Equal("latest", events[2].GetProperty("slot").GetString());
        Assert.Equal(1024, events[2].GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void A_diverged_loss_is_written_as_nan()
    {
        using (var log = new MetricsLog(MetricsPath))
            log.Train(new TrainMetrics(1, double.NaN, 1e-3, double.PositiveInfinity, 1, 1, 1));
        var train = MetricsLog.Read(MetricsPath)[0];
        Assert.Equal("NaN", train.GetProperty("loss").GetString());
        Assert.Equal("Infinity", train.GetProperty("grad_norm").GetString());
    }

    [Fact]
    public void Reopening_appends()
    {
        using (var log = new MetricsLog(MetricsPath))
            log.Eval(new EvalMetrics(1, 1, 2.0));
        using (var log = new MetricsLog(MetricsPath))
            log.Eval(new EvalMetrics(2, 2, 1.5));
        Assert.Equal([1L, 2L], MetricsLog.Read(MetricsPath).Select(e => e.GetProperty("step").GetInt64()));
    }

    [Fact]
    public void A_torn_last_line_is_skipped_but_a_torn_middle_line_is_an_error()
    {
        using (var log = new MetricsLog(MetricsPath))
            log.Eval(new EvalMetrics(1, 1, 2.0));
        File.AppendAllText(MetricsPath, """{"event":"train","st""");
        Assert.Single(MetricsLog.Read(MetricsPath));

        File.AppendAllText(MetricsPath, "\n{\"event\":\"eval\",\"step\":3}\n");
        var e = Assert.Throws<LlmTrainerException>(() => MetricsLog.Read(MetricsPath));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void Truncate_after_a_resumed_step_drops_later_events()
    {
        using (var log = new MetricsLog(MetricsPath))
        {
            for (var step = 1; step <= 5; step++)
                log.Train(new TrainMetrics(step, 5 - step, 1e-3, null, step * 10, 1, 1));
        }
        MetricsLog.TruncateAfter(MetricsPath, 3);
        Assert.Equal([1L, 2L, 3L], MetricsLog.Read(MetricsPath).Select(e => e.GetProperty("step").GetInt64()));
        using (var log = new MetricsLog(MetricsPath))
            log.Train(new TrainMetrics(4, 0.5, 1e-3, null, 40, 1, 1));
        Assert.Equal([1L, 2L, 3L, 4L], MetricsLog.Read(MetricsPath).Select(e => e.GetProperty("step").GetInt64()));
    }

    [Fact]
    public void Unsupported_field_types_are_refused()
    {
        using var log = new MetricsLog(MetricsPath);
        Assert.Throws<ArgumentException>(() => log.Event("x", 0, new Dictionary<string, object?> { ["list"] = new[] { 1 } }));
    }
}
