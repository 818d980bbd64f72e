using System.Diagnostics;
using System.Globalization;
using LlmTrainer.Data;
using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>The log line: loss, learning rate, norm and speed over the steps since the last one, and what a run of this kind adds.</summary>
public sealed partial class Trainer
{
    private double reduceWaitSeconds; // time waited for gradient all-reduces since the last log line
    private double reduceSeconds; // time the gradient all-reduces took since the last log line
    private bool reduceUntimed; // a step's backend reported no completion times
    private int bucketsDuringBackward, buckets;
    private long intervalStartStep, intervalStartTokens; // where the steps since the last log line began
    private readonly Stopwatch intervalClock = new();
    private ExpertLoad? intervalLoad; // the expert counts at the last log line

    private void StartInterval()
    {
        intervalStartStep = step;
        intervalStartTokens = tokensSeen;
        intervalClock.Restart();
        intervalLoad = model.expert_load();
    }

    /// <summary>The log line for the steps since the last one: loss, learning rate, norm, speed and what a run of this kind adds.</summary>
    private void LogStep(double lr)
    {
        var last = ReadPending()!.Value; // waits for the device
        double seconds = intervalClock.Elapsed.TotalSeconds;
        long steps = step - intervalStartStep;
        double tokensPerSec = (tokensSeen - intervalStartTokens) / Math.Max(seconds, 1e-9);
        double msPerStep = seconds * 1000 / Math.Max(steps, 1);
        double tflops = tokensPerSec * flopsPerToken / 1e12;
        double? mfu = peakTflops is { } peak ? tflops / peak : null;
        double? peakMb = device.IsCuda ? torch.cuda.max_memory_allocated(cudaIndex) / 1048576.0 : null;
        var eta = TimeSpan.FromMilliseconds(msPerStep * (config.MaxIters - step));
        // Assignments dropped for capacity since the last log line, counted on the host as the steps ran.
        var load = model.expert_load();
        var dropped = load is not null && intervalLoad is not null && config.MoeCapacityFactor > 0 ? load.Since(intervalLoad) : null;
        progress.Info(
            $"step {step}/{config.MaxIters}{StageText()}{EpochText()} | loss {last.Loss:F4}{RouterText(last, dropped)} | lr {lr:E2} | norm {last.GradNorm:F2} | " +
            $"{msPerStep:F0} ms/step | {tokensPerSec:N0} tok/s | {tflops:F3} TFLOP/s{MfuAndMemory(mfu, peakMb)}{AllReduceText(steps)} | ETA {Format(eta)}");
        metrics?.Train(new TrainMetrics(step, last.Loss, lr, last.GradNorm, tokensSeen, tokensPerSec, msPerStep, mfu, peakMb,
            last.AuxLoss, last.ZLoss, dropped?.Dropped, dropped?.DroppedFraction));
        StartInterval();
    }

    /// <summary>" | stage 2/3" for a curriculum, else nothing.</summary>
    private string StageText() => data.Stages.Count > 1 ? $" | stage {data.Stage + 1}/{data.Stages.Count}" : "";

    /// <summary>" | epoch 1.37" in sequential sampling (see <see cref="TrainingData.TrainEpoch"/>), else nothing.</summary>
    private string EpochText() => config.SamplingMode == SamplingMode.Sequential
        ? string.Create(CultureInfo.InvariantCulture, $" | epoch {data.TrainEpoch(config.BlockSize):F2}")
        : "";

    /// <summary>
    /// Data-parallel training, per step: how long the gradient all-reduce was in flight (first bucket started to last
    /// finished), how much of it backward did not hide (the wait after backward, which also holds waiting for a slower
    /// rank), and how many buckets started during backward.
    /// </summary>
    private string AllReduceText(long steps)
    {
        if (ddp is null) return "";
        double n = Math.Max(steps, 1);
        var took = reduceUntimed ? "" : $"{reduceSeconds * 1000 / n:F1} ms in flight, ";
        var text = $" | all-reduce {took}{reduceWaitSeconds * 1000 / n:F1} ms exposed ({bucketsDuringBackward}/{buckets} buckets started in backward)";
        reduceWaitSeconds = 0;
        reduceSeconds = 0;
        reduceUntimed = false;
        bucketsDuringBackward = buckets = 0;
        return text;
    }

    /// <summary>A mixture of experts' router losses (and dropped assignments, with a capacity factor) for the log line.</summary>
    private static string RouterText(StepValues last, ExpertLoad? dropped)
    {
        if (last.AuxLoss is not { } aux || last.ZLoss is not { } z) return "";
        var text = $" | aux {aux:F4} | z {z:F3}";
        return dropped is null ? text : text + $" | dropped {dropped.DroppedFraction * 100:F2}%";
    }

    /// <summary>
    /// On CUDA: MFU against the GPU's bf16 peak (n/a for a GPU not in <see cref="PeakFlops"/>' table, rather than a guess)
    /// and the peak memory; nothing on the CPU, which has no such peak.
    /// </summary>
    private string MfuAndMemory(double? mfu, double? peakMb)
    {
        if (!device.IsCuda) return "";
        return $" | MFU {(mfu is { } m ? $"{m * 100:F1}%" : "n/a")} | peak mem {(peakMb ?? 0) / 1024:F1} GiB";
    }

    private static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.TotalSeconds:F1}s";
}
