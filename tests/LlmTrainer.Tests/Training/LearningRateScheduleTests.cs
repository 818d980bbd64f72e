using LlmTrainer.Config;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

public sealed class LearningRateScheduleTests
{
    // Peak 1e-3, floor 1e-4, 10 warmup steps, cosine until step 100 (90 steps), no cool-down.
    private static readonly LearningRateSchedule Cosine = new(1e-3, 1e-4, WarmupIters: 10, DecayIters: 100, CooldownIters: 0, MaxIters: 120);

    [Theory]
    [InlineData(0, 1e-4)]         // 1e-3 · 1/10
    [InlineData(4, 5e-4)]         // 1e-3 · 5/10
    [InlineData(9, 1e-3)]         // 1e-3 · 10/10: the peak on the last warmup step
    [InlineData(10, 1e-3)]        // cosine at progress 0
    [InlineData(40, 7.75e-4)]     // progress 1/3: cos(π/3) = 1/2 → 1e-4 + 0.75 · 9e-4
    [InlineData(55, 5.5e-4)]      // progress 1/2: cos(π/2) = 0 → 1e-4 + 0.5 · 9e-4
    [InlineData(70, 3.25e-4)]     // progress 2/3: cos(2π/3) = −1/2 → 1e-4 + 0.25 · 9e-4
    [InlineData(100, 1e-4)]       // progress 1: the floor
    [InlineData(119, 1e-4)]       // after the decay: stays at the floor
    public void Warmup_then_cosine_then_floor(long step, double expected) =>
        Assert.Equal(expected, Cosine.At(step), 1e-12);

    [Theory]
    [InlineData(50, 1e-3)]        // the stable phase
    [InlineData(79, 1e-3)]        // last step before the cool-down
    [InlineData(80, 1e-3)]        // cool-down starts at 100 − 20 from the value there: 1e-3 · 20/20
    [InlineData(90, 5e-4)]        // 1e-3 · 10/20
    [InlineData(99, 5e-5)]        // 1e-3 · 1/20
    [InlineData(100, 0.0)]
    public void Cool_down_falls_linearly_to_zero_from_a_constant_rate(long step, double expected)
    {
        // min_lr = learning_rate makes the cosine flat: warmup–stable–decay.
        var wsd = new LearningRateSchedule(1e-3, 1e-3, WarmupIters: 10, DecayIters: 100, CooldownIters: 20, MaxIters: 100);
        Assert.Equal(expected, wsd.At(step), 1e-12);
    }

    [Fact]
    public void Cool_down_starts_from_wherever_the_cosine_stands()
    {
        // Cosine from step 10 to 70 (60 steps); cool-down over the last 10 of 100 steps, in the floor region.
        var schedule = new LearningRateSchedule(1e-3, 1e-4, WarmupIters: 10, DecayIters: 70, CooldownIters: 10, MaxIters: 100);
        Assert.Equal(1e-4, schedule.At(89), 1e-12);
        Assert.Equal(1e-4, schedule.At(90), 1e-12);     // 1e-4 · 10/10
        Assert.Equal(3e-5, schedule.At(97), 1e-12);     // 1e-4 · 3/10
        // Cool-down over the last 60 steps starts mid-cosine, at step 40 = progress 1/2 → 5.5e-4.
        var early = schedule with { CooldownIters = 60 };
        Assert.Equal(5.5e-4, early.At(40), 1e-12);
        Assert.Equal(2.75e-4, early.At(70), 1e-12);     // 5.5e-4 · 30/60
    }

    [Fact]
    public void No_warmup_starts_at_the_peak()
    {
        var schedule = new LearningRateSchedule(2e-3, 0, WarmupIters: 0, DecayIters: 10, CooldownIters: 0, MaxIters: 10);
        Assert.Equal(2e-3, schedule.At(0), 1e-15);
        Assert.Equal(1e-3, schedule.At(5), 1e-15);
        Assert.Equal(0, schedule.At(10), 1e-15);
    }

    [Fact]
    public void From_config_decays_until_max_iters_by_default()
    {
        var schedule = LearningRateSchedule.From(new TrainConfig { LearningRate = 1e-3, MinLr = 0, WarmupIters = 0, MaxIters = 200 });
        Assert.Equal(200, schedule.DecayIters);
        Assert.Equal(5e-4, schedule.At(100), 1e-15);
    }

    [Fact]
    public void Negative_steps_are_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Cosine.At(-1));
}
