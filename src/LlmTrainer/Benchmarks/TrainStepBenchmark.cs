using System.Diagnostics;
using LlmTrainer.Config;
using LlmTrainer.Model;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Benchmarks;

/// <summary>Throughput of full training steps (forward, backward, clip, AdamW) on random tokens.</summary>
/// <param name="ActiveParameters">Parameters one token passes through (fewer than <paramref name="Parameters"/> with MoE).</param>
/// <param name="TflopsPerSecond">Model FLOP/s in TFLOP/s, by the trainer's estimate (<see cref="LlamaConfig.TrainingFlopsPerToken"/>).</param>
/// <param name="Mfu">Model FLOPs utilisation (0–1) on a GPU whose bf16 peak is known (<see cref="PeakFlops"/>); null otherwise.</param>
/// <param name="Gpu">The CUDA device's name; null on the CPU.</param>
public sealed record TrainStepTiming(string Config, long Parameters, long ActiveParameters, int Steps, double MillisecondsPerStep, double TokensPerSecond,
                                     double? PeakMemoryMb, double TflopsPerSecond = 0, double? Mfu = null, string? Gpu = null);

/// <summary>
/// Times the training step the trainer runs (with a mixture of experts' router losses), without data loading, on random tokens: what
/// benchmarks/train_step.py measures for the same model in PyTorch eager. With activation_checkpointing the step
/// recomputes the layers in the backward, as the trainer does. Peak memory is the GPU's, or on the CPU the bytes CPU
/// tensors held at once.
/// </summary>
public static class TrainStepBenchmark
{
    public static TrainStepTiming Run(TrainConfig cfg, int warmup = 3, int steps = 10)
    {
        var device = Device.Parse(cfg.Device);
        ScalarType? autocast = cfg.Dtype == "float32" ? null : ScalarTypeExtensions.Parse(cfg.Dtype);
        if (device.IsCuda) torch.backends.set_allow_tf32(true);
        torch.manual_seed(cfg.Seed);
        using var model = new Llama(cfg.ToModelConfig(), device);
        var decay = model.parameters().Where(p => p.dim() >= 2).ToList();
        var noDecay = model.parameters().Where(p => p.dim() < 2).ToList();
        using var opt = new optim.AdamW(
            [new optim.ParamGroup(decay, weight_decay: cfg.WeightDecay), new optim.ParamGroup(noDecay, weight_decay: 0)],
            lr: cfg.LearningRate, beta1: cfg.Beta1, beta2: cfg.Beta2, weight_decay: cfg.WeightDecay);
        using var gen = new Generator(cfg.Seed);

        void Step()
        {
            using var scope = torch.NewDisposeScope();
            for (int micro = 0; micro < cfg.GradAccumSteps; micro++)
            {
                var x = torch.randint(0, cfg.VocabSize, [cfg.BatchSize, cfg.BlockSize], generator: gen).to(device);
                var y = torch.randint(0, cfg.VocabSize, [cfg.BatchSize, cfg.BlockSize], generator: gen).to(device);
                TrainingStep.ForwardBackward(model, x, y, cfg.GradAccumSteps, autocast, cfg.ActivationCheckpointing, cfg.MoeAuxLossCoef, cfg.MoeZLossCoef);
            }
            nn.utils.clip_grad_norm_(model.parameters(), cfg.GradClip);
            opt.step();
            opt.zero_grad();
        }

        for (int i = 0; i < warmup; i++) Step();
        if (device.IsCuda)
        {
            torch.cuda.synchronize();
            torch.cuda.reset_peak_memory_stats(Math.Max(device.Index, 0));
        }
        else
            torch.cpu.reset_peak_memory_stats();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        if (device.IsCuda) torch.cuda.synchronize();
        double ms = sw.Elapsed.TotalMilliseconds / steps;
        double peak = (device.IsCuda ? torch.cuda.max_memory_allocated(Math.Max(device.Index, 0)) : torch.cpu.max_memory_allocated()) / 1048576.0;
        double tokensPerSec = cfg.TokensPerStep / (ms / 1000);
        double flopsPerToken = model.Config.TrainingFlopsPerToken();
        string? gpu = device.IsCuda ? torch.cuda.get_device_name(Math.Max(device.Index, 0)) : null;
        double? mfu = gpu is not null && PeakFlops.Bf16DenseTflops(gpu) is { } peakTflops ? PeakFlops.Mfu(flopsPerToken, tokensPerSec, peakTflops) : null;
        return new TrainStepTiming(cfg.Name, model.num_parameters(), model.Config.ActiveParameters, steps, ms, tokensPerSec, peak,
                                   tokensPerSec * flopsPerToken / 1e12, mfu, gpu);
    }
}
