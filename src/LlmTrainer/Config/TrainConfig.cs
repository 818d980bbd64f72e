using LlmTrainer.Model;

namespace LlmTrainer.Config;

/// <summary>
/// Everything a training run is made of. Keys are snake_case in JSON files, environment variables
/// (<c>LLMTRAIN_key</c>) and command-line options (<c>--key value</c>). Zero means "automatic" where a
/// comment says so; <see cref="TrainConfig.Resolve"/> turns the automatic values into concrete ones.
/// Defaults follow llama2.c's 15M model and nanoGPT's optimiser settings.
/// </summary>
public sealed record TrainConfig
{
    /// <summary>Run name: the run directory is <c>runs/&lt;name&gt;-&lt;timestamp&gt;</c>. Empty: the config's name.</summary>
    public string Name { get; init; } = "";

    // Data and batching.
    public int BatchSize { get; init; } = 32;
    public int BlockSize { get; init; } = 256;
    public int GradAccumSteps { get; init; } = 1;

    /// <summary>
    /// Recompute each decoder layer during the backward instead of keeping its activations: big models fit in less
    /// memory for about a third more compute per step, with the same gradients.
    /// </summary>
    public bool ActivationCheckpointing { get; init; }
    public DataSpec Data { get; init; } = DataSpec.Builtin;

    /// <summary>A curriculum: the data mixture changes at each stage's end. Empty: <see cref="Data"/> throughout.</summary>
    public DataStages Stages { get; init; } = DataStages.None;

    // Schedule and bookkeeping.
    public int MaxIters { get; init; } = 100_000;
    public int EvalInterval { get; init; } = 2000;
    public int EvalIters { get; init; } = 100;
    public int LogInterval { get; init; } = 10;

    /// <summary>Steps between saves of the latest checkpoint; 0 saves at every evaluation.</summary>
    public int CheckpointInterval { get; init; }

    // Model.
    public int DModel { get; init; } = 288;
    public int NHead { get; init; } = 6;

    /// <summary>Key/value heads for grouped-query attention; 0 means <see cref="NHead"/> (plain multi-head).</summary>
    public int NKvHead { get; init; }

    public int NLayer { get; init; } = 6;

    /// <summary>SwiGLU hidden size; 0 means llama's ⌊8·d/3⌋ rounded up to a multiple of <see cref="MultipleOf"/>.</summary>
    public int FfnHidden { get; init; }

    public int MultipleOf { get; init; } = 32;

    /// <summary>0 means the tokenizer's vocabulary size.</summary>
    public int VocabSize { get; init; }

    public double RopeTheta { get; init; } = 10_000;
    public double NormEps { get; init; } = 1e-5;
    public double Dropout { get; init; }
    public bool TieEmbeddings { get; init; } = true;

    /// <summary>Experts in a Mixtral-style MoE MLP; 0 means a dense MLP.</summary>
    public int NExperts { get; init; }

    /// <summary>Experts each token is routed to (Mixtral: 2); only with <see cref="NExperts"/> ≥ 2.</summary>
    public int ExpertsPerToken { get; init; } = 2;

    /// <summary>
    /// 0: no token is dropped. Otherwise, in training, each expert takes at most ⌈factor · tokens · experts_per_token /
    /// n_experts⌉ of a micro-batch's tokens (Switch Transformer's capacity); the overflow skips that expert.
    /// </summary>
    public double MoeCapacityFactor { get; init; }

    /// <summary>Weight of the load-balancing loss (Switch Transformer, Mixtral) in the training loss.</summary>
    public double MoeAuxLossCoef { get; init; } = 0.01;

    /// <summary>Weight of the router z-loss (ST-MoE) in the training loss; 0 computes and logs it without training on it.</summary>
    public double MoeZLossCoef { get; init; }

    /// <summary>
    /// Attention stays inside each document of a packed sequence (documents begin with the end-of-text id), as
    /// StableLM's end-of-document attention reset; rotary positions, being relative, then count from each document.
    /// </summary>
    public bool DocMask { get; init; }

    /// <summary>"random" (windows at uniformly random positions) or "sequential" (every window once per epoch, shuffled per epoch).</summary>
    public string Sampling { get; init; } = "random";

    /// <summary>With sequential sampling: stop once a source has been walked this many times (0: max_iters alone stops).</summary>
    public int MaxEpochs { get; init; }

    /// <summary>The loader mode <see cref="Sampling"/> names.</summary>
    public LlmTrainer.Data.SamplingMode SamplingMode => Sampling == "sequential" ? LlmTrainer.Data.SamplingMode.Sequential : LlmTrainer.Data.SamplingMode.Random;

    public bool IsMoe => NExperts >= 2;

    // Optimiser.
    public double LearningRate { get; init; } = 5e-4;
    public double MinLr { get; init; }
    public int WarmupIters { get; init; } = 1000;

    /// <summary>Step at which the cosine decay reaches <see cref="MinLr"/>; 0 means <see cref="MaxIters"/>.</summary>
    public int LrDecayIters { get; init; }

    /// <summary>The last steps over which the learning rate falls linearly to zero; 0 turns the cool-down off.</summary>
    public int CooldownIters { get; init; }

    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;

    /// <summary>Global gradient-norm clip; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 1.0;

    // Hardware and reproducibility.

    /// <summary><c>auto</c>, <c>float32</c> or <c>bfloat16</c>; auto is bfloat16 on CUDA and float32 on the CPU.</summary>
    public string Dtype { get; init; } = "auto";

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    public long Seed { get; init; } = 1337;

    /// <summary>Seed for the evaluation batches, so that evaluations compare across steps and runs.</summary>
    public long EvalSeed { get; init; } = 4242;

    /// <summary>Run directory; empty means a new <c>runs/&lt;name&gt;-&lt;timestamp&gt;</c>.</summary>
    public string OutDir { get; init; } = "";

    /// <summary>
    /// A checkpoint to start a new run from (ours, a Hugging Face directory or a llama2.c .bin): its weights and its
    /// shape (<see cref="Interop.InitFrom"/>). Empty: random initialisation.
    /// </summary>
    public string InitFrom { get; init; } = "";

    public int EffectiveLrDecayIters => LrDecayIters > 0 ? LrDecayIters : MaxIters;

    public int EffectiveCheckpointInterval => CheckpointInterval > 0 ? CheckpointInterval : EvalInterval;

    /// <summary>Tokens consumed by one optimizer step.</summary>
    public long TokensPerStep => (long)BatchSize * BlockSize * GradAccumSteps;

    /// <summary>
    /// The model this config describes, with the automatic sizes made concrete: n_kv_head 0 is n_head, ffn_hidden 0 is
    /// llama's rule. The vocabulary must be known (<see cref="Resolve"/> gives vocab_size 0 the tokenizer's size).
    /// </summary>
    /// <param name="endOfTextId">The tokenizer's end-of-text id: where each document begins, for doc_mask.</param>
    public LlamaConfig ToModelConfig(int endOfTextId = 0)
    {
        if (VocabSize <= 0)
            throw new InvalidOperationException($"vocab_size is {VocabSize}: the model's vocabulary is not known until the config is resolved against its tokenizer.");
        return new LlamaConfig(VocabSize, DModel, NLayer, NHead, NKvHead > 0 ? NKvHead : NHead, FfnHidden > 0 ? FfnHidden : DefaultFfnHidden(DModel, MultipleOf),
            BlockSize, NormEps, RopeTheta, TieEmbeddings, Dropout, NExperts, ExpertsPerToken, MoeCapacityFactor, DocMask, endOfTextId);
    }

    /// <summary>
    /// This config with the keys of <paramref name="model"/>'s shape set to it, the way back from <see cref="ToModelConfig"/>:
    /// a dense model leaves experts_per_token as it is, and dropout, the capacity factor and doc_mask stay the config's.
    /// </summary>
    public TrainConfig WithModelShape(LlamaConfig model) => this with
    {
        VocabSize = model.VocabSize,
        DModel = model.DModel,
        NLayer = model.NLayer,
        NHead = model.NHead,
        NKvHead = model.NKvHead,
        FfnHidden = model.FfnHidden,
        BlockSize = model.BlockSize,
        NormEps = model.NormEps,
        RopeTheta = model.RopeTheta,
        TieEmbeddings = model.TieEmbeddings,
        NExperts = model.NExperts,
        ExpertsPerToken = model.IsMoe ? model.ExpertsPerToken : ExpertsPerToken,
    };

    /// <summary>llama's MLP width: ⌊2/3 · 4·d⌋ rounded up to a multiple of <paramref name="multipleOf"/>.</summary>
    public static int DefaultFfnHidden(int dModel, int multipleOf)
    {
        var hidden = 2 * (4 * dModel) / 3;
        if (multipleOf <= 1)
            return hidden;
        return (hidden + multipleOf - 1) / multipleOf * multipleOf;
    }

    /// <summary>
    /// Replaces the automatic values by concrete ones for this machine and tokenizer: device, dtype,
    /// key/value heads, MLP width, vocabulary and decay horizon. Throws when the config asks for
    /// something the machine cannot do (CUDA without a GPU, bfloat16 where it is unsupported) or a
    /// vocabulary smaller than the tokenizer's.
    /// </summary>
    public TrainConfig Resolve(RuntimeCapabilities capabilities, int tokenizerVocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenizerVocabSize);
        var device = Device;
        if (device == "auto")
            device = capabilities.CudaDeviceCount > 0 ? "cuda" : "cpu";
        else if (device.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (capabilities.CudaDeviceCount == 0)
                throw new LlmTrainerException(
                    $"device is '{Device}' but no CUDA device is available on this machine; use --device cpu (or auto).");
            var index = device == "cuda" ? 0 : int.Parse(device.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture);
            if (index >= capabilities.CudaDeviceCount)
                throw new LlmTrainerException(
                    $"device is '{Device}' but this machine has {capabilities.CudaDeviceCount} CUDA device(s), numbered from 0; use --device cuda:0.");
        }

        var onCuda = device.StartsWith("cuda", StringComparison.Ordinal);
        var bf16Supported = onCuda ? capabilities.CudaSupportsBfloat16 : capabilities.CpuSupportsBfloat16;
        var dtype = Dtype;
        if (dtype == "auto")
            dtype = onCuda && bf16Supported ? "bfloat16" : "float32";
        else if (dtype == "bfloat16" && !bf16Supported)
            throw new LlmTrainerException(
                onCuda ? "dtype is 'bfloat16' but this GPU does not compute in bfloat16 (it needs compute capability 8.0, Ampere or newer); use --dtype float32 (or auto)."
                       : "dtype is 'bfloat16' but this libtorch does not train in bfloat16 on the CPU (that needs libtorch 2.x; llmtrain info shows the version); use --dtype float32 (or auto), or build llmtrain against libtorch 2.x.");

        var vocab = VocabSize;
        if (vocab == 0)
            vocab = tokenizerVocabSize;
        else if (vocab < tokenizerVocabSize)
            throw new LlmTrainerException(
                $"vocab_size is {VocabSize} but the tokenizer has {tokenizerVocabSize} tokens; set vocab_size to at least {tokenizerVocabSize}, or 0 to use the tokenizer's size.");

        var model = (this with { VocabSize = vocab }).ToModelConfig();
        return this with
        {
            Device = device,
            Dtype = dtype,
            NKvHead = model.NKvHead,
            FfnHidden = model.FfnHidden,
            VocabSize = vocab,
            LrDecayIters = EffectiveLrDecayIters,
            CheckpointInterval = EffectiveCheckpointInterval,
        };
    }
}
