using LlmTrainer.Config;

namespace LlmTrainer.Training;

/// <summary>
/// A lower bound of the memory a training run needs, computed before anything is allocated, so that a run that
/// cannot fit is refused with the numbers instead of allocating until the machine runs out. Deliberately low: only
/// what is certain is counted (float32 weights, their gradients, AdamW's two moments, one micro-batch's logits and
/// their gradient, and per layer the few activations that every path keeps); real peaks are higher
/// (<see cref="Planning.TrainingPlan"/> estimates them).
/// </summary>
public sealed record MemoryEstimate(long WeightBytes, long GradientBytes, long OptimizerBytes, long ActivationBytes)
{
    /// <summary>
    /// Weights and AdamW state are held throughout; gradients appear during the backward as the activations go, so
    /// only the larger of the two counts.
    /// </summary>
    public long TotalBytes => WeightBytes + OptimizerBytes + Math.Max(GradientBytes, ActivationBytes);

    /// <summary>The lower bound of <see cref="Planning.TrainingPlan.LowerBound"/>; <c>llmtrain plan</c> gives the full estimate.</summary>
    public static MemoryEstimate For(TrainConfig cfg)
    {
        var (weights, gradients, optimizer, activations) = Planning.TrainingPlan.LowerBound(cfg);
        return new MemoryEstimate((long)weights, (long)gradients, (long)optimizer, (long)activations);
    }

    /// <summary>Memory this process could use on <paramref name="device"/>: the GPU's total, or the CPU's MemAvailable; null when unknown.</summary>
    public static long? Available(Torch.Device device)
    {
        if (device.IsCuda)
        {
            long total = Torch.torch.cuda.get_device_properties(Math.Max(device.Index, 0)).TotalMemory;
            return total > 0 ? total : null;
        }
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                return long.TryParse(kb, out var k) ? k * 1024 : null;
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Throws with the estimate and what to change when it exceeds <paramref name="available"/> bytes.</summary>
    public void Check(long? available, string where)
    {
        if (available is not { } bytes || TotalBytes <= bytes) return;
        throw new LlmTrainerException(
            $"this run needs at least {Gib(TotalBytes)} ({Gib(WeightBytes)} weights, {Gib(OptimizerBytes)} AdamW state, and the larger of " +
            $"{Gib(GradientBytes)} gradients and {Gib(ActivationBytes)} activations and logits of one micro-batch) but {where} has {Gib(bytes)} " +
            "available. Use a smaller batch_size or " +
            "block_size (grad_accum_steps keeps the tokens per step), activation_checkpointing, or a smaller model; --force tries anyway.");
    }

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):N1} GiB";
}
