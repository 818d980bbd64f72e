using LlmTrainer.Config;

namespace LlmTrainer.Training;

/// <summary>
/// The learning rate as a pure function of the optimizer step (0-based): linear warmup to
/// <see cref="LearningRate"/> over <see cref="WarmupIters"/> steps, cosine decay to <see cref="MinLr"/>
/// at step <see cref="DecayIters"/>, <see cref="MinLr"/> after that, and, when
/// <see cref="CooldownIters"/> is set, a linear fall from wherever the schedule stands at step
/// <c>MaxIters − CooldownIters</c> to zero at <see cref="MaxIters"/> (warmup–stable–decay runs set
/// <c>min_lr = learning_rate</c> and use only the cool-down).
/// </summary>
public sealed record LearningRateSchedule(double LearningRate, double MinLr, int WarmupIters, int DecayIters, int CooldownIters, int MaxIters)
{
    public static LearningRateSchedule From(TrainConfig config) =>
        new(config.LearningRate, config.MinLr, config.WarmupIters, config.EffectiveLrDecayIters, config.CooldownIters, config.MaxIters);

    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (CooldownIters > 0 && step >= MaxIters - CooldownIters)
        {
            long start = MaxIters - CooldownIters;
            var remaining = Math.Max(0, MaxIters - step);
            return Decayed(start) * remaining / CooldownIters;
        }
        return Decayed(step);
    }

    private double Decayed(long step)
    {
        // (step + 1) so that the first step already learns and the last warmup step reaches the peak.
        if (step < WarmupIters)
            return LearningRate * (step + 1) / WarmupIters;
        if (step >= DecayIters)
            return MinLr;
        var progress = (double)(step - WarmupIters) / (DecayIters - WarmupIters);
        return MinLr + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (LearningRate - MinLr);
    }
}
