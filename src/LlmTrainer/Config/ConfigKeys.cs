namespace LlmTrainer.Config;

/// <summary>
/// The table of every config key, in the order the resolved config is rendered. Loading, validation and
/// rendering all go through it, so a key added here is known everywhere.
/// </summary>
internal static class ConfigKeys
{
    public static readonly IReadOnlyList<ConfigKey> All =
    [
        Text("name", c => c.Name, (c, v) => c with { Name = v }),
        Data("data", c => c.Data, (c, v) => c with { Data = v },
            c => c.Stages.IsEmpty ? null : "is replaced by stages, where each stage names its data; move these sources into a stage, or leave data out."),
        new("stages", ConfigValueType.Stages, c => c.Stages, (c, v) => c with { Stages = (DataStages)v },
            c => c.Stages.IsEmpty ? "is empty; list the stages, or leave stages out to train on data throughout." : null),
        Text("sampling", c => c.Sampling, (c, v) => c with { Sampling = v }),
        Text("out_dir", c => c.OutDir, (c, v) => c with { OutDir = v }),
        Text("init_from", c => c.InitFrom, (c, v) => c with { InitFrom = v }),
        Text("device", c => c.Device, (c, v) => c with { Device = v }),
        Text("dtype", c => c.Dtype, (c, v) => c with { Dtype = v }),
        Long("seed", c => c.Seed, (c, v) => c with { Seed = v }),
        Long("eval_seed", c => c.EvalSeed, (c, v) => c with { EvalSeed = v }),

        Int("vocab_size", c => c.VocabSize, (c, v) => c with { VocabSize = v }),
        Int("block_size", c => c.BlockSize, (c, v) => c with { BlockSize = v }),
        Int("d_model", c => c.DModel, (c, v) => c with { DModel = v }),
        Int("n_layer", c => c.NLayer, (c, v) => c with { NLayer = v }),
        Int("n_head", c => c.NHead, (c, v) => c with { NHead = v }),
        Int("n_kv_head", c => c.NKvHead, (c, v) => c with { NKvHead = v }),
        Int("ffn_hidden", c => c.FfnHidden, (c, v) => c with { FfnHidden = v }),
        Int("multiple_of", c => c.MultipleOf, (c, v) => c with { MultipleOf = v },
            c => c.FfnHidden > 0 ? $"only rounds the automatic MLP width, and ffn_hidden is set ({c.FfnHidden}); leave multiple_of out, or set ffn_hidden to 0." : null),
        Int("n_experts", c => c.NExperts, (c, v) => c with { NExperts = v }),
        Int("experts_per_token", c => c.ExpertsPerToken, (c, v) => c with { ExpertsPerToken = v }, MoeOnly),
        Number("moe_capacity_factor", c => c.MoeCapacityFactor, (c, v) => c with { MoeCapacityFactor = v }, MoeOnly),
        Number("moe_aux_loss_coef", c => c.MoeAuxLossCoef, (c, v) => c with { MoeAuxLossCoef = v }, MoeOnly),
        Number("moe_z_loss_coef", c => c.MoeZLossCoef, (c, v) => c with { MoeZLossCoef = v }, MoeOnly),
        Number("rope_theta", c => c.RopeTheta, (c, v) => c with { RopeTheta = v }),
        Number("norm_eps", c => c.NormEps, (c, v) => c with { NormEps = v }),
        Number("dropout", c => c.Dropout, (c, v) => c with { Dropout = v }),
        Bool("tie_embeddings", c => c.TieEmbeddings, (c, v) => c with { TieEmbeddings = v }),
        Bool("doc_mask", c => c.DocMask, (c, v) => c with { DocMask = v }),

        Int("batch_size", c => c.BatchSize, (c, v) => c with { BatchSize = v }),
        Int("grad_accum_steps", c => c.GradAccumSteps, (c, v) => c with { GradAccumSteps = v }),
        Bool("activation_checkpointing", c => c.ActivationCheckpointing, (c, v) => c with { ActivationCheckpointing = v }),
        Int("max_iters", c => c.MaxIters, (c, v) => c with { MaxIters = v }),
        Int("max_epochs", c => c.MaxEpochs, (c, v) => c with { MaxEpochs = v },
            c => c.Sampling == "sequential" ? null : $"counts passes of sequential sampling, and sampling is '{c.Sampling}'; set sampling to sequential, or leave max_epochs out."),
        Number("learning_rate", c => c.LearningRate, (c, v) => c with { LearningRate = v }),
        Number("min_lr", c => c.MinLr, (c, v) => c with { MinLr = v }),
        Int("warmup_iters", c => c.WarmupIters, (c, v) => c with { WarmupIters = v }),
        Int("lr_decay_iters", c => c.LrDecayIters, (c, v) => c with { LrDecayIters = v }),
        Int("cooldown_iters", c => c.CooldownIters, (c, v) => c with { CooldownIters = v }),
        Number("weight_decay", c => c.WeightDecay, (c, v) => c with { WeightDecay = v }),
        Number("beta1", c => c.Beta1, (c, v) => c with { Beta1 = v }),
        Number("beta2", c => c.Beta2, (c, v) => c with { Beta2 = v }),
        Number("grad_clip", c => c.GradClip, (c, v) => c with { GradClip = v }),

        Int("eval_interval", c => c.EvalInterval, (c, v) => c with { EvalInterval = v }),
        Int("eval_iters", c => c.EvalIters, (c, v) => c with { EvalIters = v }),
        Int("log_interval", c => c.LogInterval, (c, v) => c with { LogInterval = v }),
        Int("checkpoint_interval", c => c.CheckpointInterval, (c, v) => c with { CheckpointInterval = v }),
    ];

    private static readonly Dictionary<string, ConfigKey> ByName =
        All.ToDictionary(k => k.Name, StringComparer.OrdinalIgnoreCase);

    public static ConfigKey? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The known key closest to a misspelt one, when it is close enough to be a likely typo.</summary>
    public static string? Suggest(string unknown)
    {
        var normalized = unknown.Replace('-', '_').ToLowerInvariant();
        var best = All.Select(k => (k.Name, Distance: EditDistance.Levenshtein(normalized, k.Name)))
            .OrderBy(x => x.Distance).First();
        var tolerance = Math.Max(2, best.Name.Length / 3);
        return best.Distance <= tolerance ? best.Name : null;
    }

    private static string? MoeOnly(TrainConfig c) => c.IsMoe
        ? null
        : $"applies to a mixture of experts only, and n_experts is {c.NExperts} (a dense MLP); set n_experts to 2 or more (Mixtral: 8), or leave this key out.";

    private static ConfigKey Int(string name, Func<TrainConfig, int> get, Func<TrainConfig, int, TrainConfig> set, Func<TrainConfig, string?>? unused = null) =>
        new(name, ConfigValueType.Integer, c => get(c), (c, v) => set(c, (int)v), unused);

    private static ConfigKey Long(string name, Func<TrainConfig, long> get, Func<TrainConfig, long, TrainConfig> set) =>
        new(name, ConfigValueType.LongInteger, c => get(c), (c, v) => set(c, (long)v));

    private static ConfigKey Number(string name, Func<TrainConfig, double> get, Func<TrainConfig, double, TrainConfig> set, Func<TrainConfig, string?>? unused = null) =>
        new(name, ConfigValueType.Number, c => get(c), (c, v) => set(c, (double)v), unused);

    private static ConfigKey Bool(string name, Func<TrainConfig, bool> get, Func<TrainConfig, bool, TrainConfig> set) =>
        new(name, ConfigValueType.Boolean, c => get(c), (c, v) => set(c, (bool)v));

    private static ConfigKey Text(string name, Func<TrainConfig, string> get, Func<TrainConfig, string, TrainConfig> set) =>
        new(name, ConfigValueType.Text, c => get(c), (c, v) => set(c, (string)v));

    private static ConfigKey Data(string name, Func<TrainConfig, DataSpec> get, Func<TrainConfig, DataSpec, TrainConfig> set, Func<TrainConfig, string?> unused) =>
        new(name, ConfigValueType.Data, c => get(c), (c, v) => set(c, (DataSpec)v), unused);
}
