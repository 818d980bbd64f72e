using System.Text.Json;
using LlmTrainer.Plotting;

namespace LlmTrainer.Tests.Plotting;

public sealed class RunCurvesTests
{
    private static List<JsonElement> Events(params string[] lines) => lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private static readonly List<JsonElement> Log = Events(
        """{"event":"eval","time":"2026-01-01T00:00:00.000Z","step":0,"tokens":0,"val_loss":8.0}""",
        """{"event":"train","time":"2026-01-01T00:30:00.000Z","step":10,"loss":6.0,"lr":0.001,"tokens":20480,"tokens_per_sec":5000,"step_ms":400}""",
        """{"event":"checkpoint","time":"2026-01-01T00:40:00.000Z","step":10}""",
        """{"event":"train","time":"2026-01-01T01:00:00.000Z","step":20,"loss":"NaN","lr":0.002,"tokens":40960,"tokens_per_sec":6000,"step_ms":400}""",
        """{"event":"train","time":"2026-01-01T02:00:00.000Z","step":30,"loss":4.0,"lr":0.003,"tokens":61440,"tokens_per_sec":7000,"step_ms":400}""",
        """{"event":"eval","time":"2026-01-01T02:00:01.000Z","step":30,"tokens":61440,"val_loss":4.5}""");

    [Fact]
    public void Each_axis_takes_its_field_and_non_finite_values_are_left_out()
    {
        var steps = RunCurves.FromEvents("r", Log, PlotAxis.Step);
        Assert.Equal([10.0, 30], steps.TrainLoss.X);
        Assert.Equal([6.0, 4.0], steps.TrainLoss.Y);
        Assert.Equal([0.0, 30], steps.ValLoss.X);
        Assert.Equal([8.0, 4.5], steps.ValLoss.Y);
        Assert.Equal([0.001, 0.002, 0.003], steps.LearningRate.Y);
        Assert.Equal([5000.0, 6000, 7000], steps.TokensPerSecond.Y);
        Assert.Equal("r val", steps.ValLoss.Label);

        Assert.Equal([20480.0, 61440], RunCurves.FromEvents("r", Log, PlotAxis.Tokens).TrainLoss.X);
        var hours = RunCurves.FromEvents("r", Log, PlotAxis.Time);
        Assert.Equal([0.5, 2.0], hours.TrainLoss.X);
        Assert.Equal(2 + 1 / 3600.0, hours.ValLoss.X[1], 1e-9);
    }

    [Fact]
    public void A_mixtures_datasets_each_get_a_val_curve_and_a_run_of_one_dataset_none()
    {
        var mixed = RunCurves.FromEvents("r", Events(
            """{"event":"eval","step":0,"tokens":0,"val_loss":8.0,"source_val_loss":{"stories":7.5,"code":8.5}}""",
            """{"event":"eval","step":10,"tokens":100,"val_loss":6.0,"source_val_loss":{"stories":5.0,"code":"NaN"}}"""), PlotAxis.Step);
        Assert.Equal(["stories", "code"], mixed.SourceValLoss.Select(s => s.Label));
        Assert.Equal([7.5, 5.0], mixed.SourceValLoss[0].Y);
        Assert.Equal([0.0], mixed.SourceValLoss[1].X);
        Assert.Empty(RunCurves.FromEvents("r", Log, PlotAxis.Step).SourceValLoss);
    }

    [Fact]
    public void Later_stages_mark_where_they_begin_once_each()
    {
        var curves = RunCurves.FromEvents("r", Events(
            """{"event":"stage","step":0,"stage":1,"stages":3,"tokens":0}""",
            """{"event":"stage","step":6,"stage":2,"stages":3,"tokens":1536}""",
            """{"event":"stage","step":9,"stage":2,"stages":3,"tokens":2304}""",
            """{"event":"stage","step":12,"stage":3,"stages":3,"tokens":3072}"""), PlotAxis.Step);
        Assert.Equal([(6.0, 2), (12.0, 3)], curves.StageStarts);
        Assert.Equal([(1536.0, 2), (3072.0, 3)], RunCurves.FromEvents("r", Events(
            """{"event":"stage","step":6,"stage":2,"tokens":1536}""", """{"event":"stage","step":12,"stage":3,"tokens":3072}"""), PlotAxis.Tokens).StageStarts);
        Assert.Empty(RunCurves.FromEvents("r", Log, PlotAxis.Step).StageStarts);
    }

    [Fact]
    public void Smoothing_is_a_debiased_moving_average_that_short_curves_skip()
    {
        Assert.All(RunCurves.Smooth([3, 3, 3], 0.9), v => Assert.Equal(3, v, 1e-12)); // debiased: a constant stays itself from the first point
        var s = RunCurves.Smooth([0, 10], 0.5);
        Assert.Equal(0, s[0]);
        Assert.Equal(0.5 * 10 / (1 - 0.25), s[1], 1e-12);
        Assert.Equal(0, RunCurves.SmoothingWeight(6));
        Assert.Equal(0.9, RunCurves.SmoothingWeight(1000));
        Assert.Equal(0.5, RunCurves.SmoothingWeight(20));
        var curves = RunCurves.FromEvents("r", Log, PlotAxis.Step);
        Assert.Equal(curves.TrainLoss.Y, curves.TrainLossSmoothed.Y); // two points: not smoothed
    }
}
