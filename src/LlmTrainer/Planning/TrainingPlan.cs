using LlmTrainer.Config;

namespace LlmTrainer.Planning;

/// <summary>
/// What a training run needs on a device, before anything is allocated: memory by component, the peak of one optimizer
/// step, whether it fits, the largest batch_size that would, and the time it takes at an assumed model FLOPs utilisation.
/// The reasoning of EleutherAI's and StableLM's transformer memory calculators, with the activations of llmtrain's own
/// step (<see cref="ActivationModel"/>) rather than a generic formula.
/// </summary>
/// <param name="Weights">fp32 parameters (the master weights under autocast).</param>
/// <param name="Gradients">fp32 gradients, present from the first backward to the optimizer step (during the whole step with grad_accum_steps &gt; 1).</param>
/// <param name="Optimizer">AdamW's two fp32 moments.</param>
/// <param name="CastWeights">Autocast's bf16 copies of the matrices, kept for the backward; 0 without autocast.</param>
/// <param name="Activations">The activations of one micro-batch at the step's peak, as configured (with or without activation checkpointing).</param>
/// <param name="ActivationsPlain">The same without activation checkpointing.</param>
/// <param name="ActivationsCheckpointed">The same with activation checkpointing.</param>
/// <param name="Logits">The logits and their gradient at the peak.</param>
/// <param name="Peak">Bytes allocated at the step's peak (what the allocator's max_memory_allocated reports).</param>
/// <param name="AllocatorMargin">On CUDA, what the caching allocator reserves beyond what is allocated (block rounding and fragmentation).</param>
/// <param name="Context">On CUDA, the context and library workspaces outside PyTorch's allocator.</param>
public sealed record TrainingPlan(
    TrainConfig Config, PlanDevice Device, long Parameters, double Weights, double Gradients, double Optimizer, double CastWeights,
    double Activations, double ActivationsPlain, double ActivationsCheckpointed, double Logits, double Peak, double AllocatorMargin,
    double Context, int MaxBatchSizePlain, int MaxBatchSizeCheckpointed, double? Mfu, double? StepSeconds)
{
    /// <summary>Share of the allocated peak the CUDA caching allocator is assumed to reserve on top.</summary>
    public const double CudaAllocatorMargin = 0.10;

    /// <summary>CUDA context, cuBLAS and cuDNN workspaces: outside the allocator's counts.</summary>
    public const double CudaContextBytes = 0.75 * (1L << 30);

    /// <summary>The MFU assumed for step times on a GPU when none is given: what a well-fed single GPU reaches with flash attention.</summary>
    public const double DefaultMfu = 0.40;

    /// <summary>Everything on the device at the peak: allocated, the allocator's margin and the context.</summary>
    public double Total => Peak + AllocatorMargin + Context;

    public bool Fits => Total <= Device.MemoryBytes;

    /// <summary>The largest batch_size that fits as configured (with or without activation checkpointing); 0 when not even 1 does.</summary>
    public int MaxBatchSize => Config.ActivationCheckpointing ? MaxBatchSizeCheckpointed : MaxBatchSizePlain;

    public double? TokensPerSecond => StepSeconds is { } s ? Config.TokensPerStep / s : null;

    public double? DaysToMaxIters => StepSeconds is { } s ? s * Config.MaxIters / 86400 : null;

    /// <summary>Plans <paramref name="cfg"/> (resolved: vocab_size, dtype and device set) on <paramref name="device"/>.</summary>
    /// <param name="mfu">The model FLOPs utilisation to assume on a GPU (default <see cref="DefaultMfu"/>); ignored on the CPU.</param>
    public static TrainingPlan For(TrainConfig cfg, PlanDevice device, double? mfu = null)
    {
        var memory = Memory(cfg, device);
        int maxBatch = LargestBatch(cfg, device, false);
        int maxBatchCkpt = LargestBatch(cfg, device, true);
        double? assumed = device.Bf16Tflops is null ? null : mfu ?? DefaultMfu;
        double? stepSeconds = null;
        if (device.Bf16Tflops is { } peak && assumed is { } m)
        {
            // fp32 on a GPU runs at the TF32 rate, half the bf16 peak on these parts.
            double rate = peak * 1e12 * m * (cfg.Dtype == "float32" ? 0.5 : 1);
            // Recomputing the layers adds one forward: a third of the 6·N per token of the layers.
            double flops = cfg.ToModelConfig().TrainingFlopsPerToken() * (cfg.ActivationCheckpointing ? 4.0 / 3 : 1) * cfg.TokensPerStep;
            stepSeconds = flops / rate;
        }
        return memory with { MaxBatchSizePlain = maxBatch, MaxBatchSizeCheckpointed = maxBatchCkpt, Mfu = assumed, StepSeconds = stepSeconds };
    }

    /// <summary>
    /// A lower bound (only what is certain: fp32 weights, AdamW's moments, and the larger of the gradients and one
    /// micro-batch's logits with their gradient and each layer's input), for refusing runs that cannot fit.
    /// </summary>
    public static (double Weights, double Gradients, double Optimizer, double Activations) LowerBound(TrainConfig cfg)
    {
        double p = cfg.ToModelConfig().TotalParameters;
        double tokens = (double)cfg.BatchSize * cfg.BlockSize;
        double logits = 2 * tokens * cfg.VocabSize * 4;
        double perLayer = tokens * cfg.DModel * 4 * (cfg.ActivationCheckpointing ? 1 : 2);
        return (4 * p, 4 * p, 8 * p, logits + perLayer * cfg.NLayer);
    }

    private static TrainingPlan Memory(TrainConfig cfg, PlanDevice device)
    {
        var shape = cfg.ToModelConfig();
        long p = shape.TotalParameters;
        bool autocast = device.IsCuda && cfg.Dtype != "float32";
        var model = new ActivationModel(device.IsCuda, autocast);
        var layer = model.Layer(cfg);
        var (logitsForward, logitsBackward) = model.Logits(cfg);
        double around = model.Around(cfg);
        int l = cfg.NLayer;

        double weights = 4.0 * p, grads = 4.0 * p, adam = 8.0 * p;
        // Autocast casts each matrix once per forward and autograd keeps the copy for the backward (the embedding is not cast, but a
        // tied LM head casts it).
        double cast = autocast ? 2.0 * (shape.MatmulParameters) : 0;
        // With gradient accumulation the gradients of earlier micro-batches are there while the next one runs.
        double gradsDuring = cfg.GradAccumSteps > 1 ? grads : 0;

        // Without checkpointing: the end of the forward, or the start of the backward.
        double plainForward = l * layer.Forward + around + logitsForward;
        double plainBackward = l * layer.Saved + around + logitsBackward;
        double plain = Math.Max(plainForward, plainBackward);
        // With checkpointing: the layers' inputs throughout, then the head's backward (its weight's gradient appears while the
        // logits are still held), then each layer recomputed (all it makes) and run backward, with the gradients so far.
        double inputs = (l + 1) * layer.Input;
        double headWeightGrad = (double)cfg.VocabSize * cfg.DModel * 4;
        double ckptHead = inputs + around + logitsBackward + headWeightGrad + layer.Input;
        double ckptLayer = inputs + layer.Forward + layer.RecomputeBackward;
        double checkpointed = Math.Max(ckptHead, ckptLayer + grads - gradsDuring);

        double activations = cfg.ActivationCheckpointing ? checkpointed : plain;
        double stepPeak = weights + adam + cast + gradsDuring + activations;
        // The optimizer step: weights, moments and gradients (the fused AdamW makes no copies).
        double peak = Math.Max(stepPeak, weights + adam + grads);
        double margin = device.IsCuda ? CudaAllocatorMargin * peak : 0;
        double context = device.IsCuda ? CudaContextBytes : 0;
        double logitsAtPeak = activations == plainBackward || cfg.ActivationCheckpointing ? logitsBackward : logitsForward;
        return new TrainingPlan(cfg, device, p, weights, grads, adam, cast, activations - logitsAtPeak, plain, checkpointed, logitsAtPeak,
            peak, margin, context, 0, 0, null, null);
    }

    private static int LargestBatch(TrainConfig cfg, PlanDevice device, bool checkpointing)
    {
        bool Fits(int batch) => Memory(cfg with { BatchSize = batch, ActivationCheckpointing = checkpointing }, device).Total <= device.MemoryBytes;
        if (!Fits(1)) return 0;
        int lo = 1, hi = 2;
        while (hi < 1 << 20 && Fits(hi)) (lo, hi) = (hi, hi * 2);
        if (hi >= 1 << 20 && Fits(hi)) return hi;
        while (hi - lo > 1)
        {
            int mid = lo + (hi - lo) / 2;
            if (Fits(mid)) lo = mid;
            else hi = mid;
        }
        return lo;
    }
}
