using System.Globalization;

namespace LlmTrainer.Config;

/// <summary>
/// Checks that a config's values make sense together before anything heavy starts. Every problem names
/// the key, its value and a fix; all problems are reported at once.
/// </summary>
public static class ConfigValidator
{
    public static readonly IReadOnlyList<string> Dtypes = ["auto", "float32", "bfloat16"];

    /// <summary>Throws an <see cref="LlmTrainerException"/> listing every problem with <paramref name="config"/>.</summary>
    /// <param name="checkDataPaths">Whether the paths under <c>data</c> must exist now.</param>
    public static void Validate(TrainConfig config, bool checkDataPaths = true)
    {
        var errors = Check(config, checkDataPaths);
        if (errors.Count > 0)
            throw ToException(errors, _ => null);
    }

    internal static LlmTrainerException ToException(IReadOnlyList<ConfigError> errors, Func<string, string?> describeSource)
    {
        string Line(ConfigError e)
        {
            var source = describeSource(e.Key);
            return source is null ? $"{e.Key}: {e.Message}" : $"{e.Key} ({source}): {e.Message}";
        }

        return errors.Count == 1
            ? new LlmTrainerException($"invalid config: {Line(errors[0])}")
            : new LlmTrainerException($"invalid config ({errors.Count} problems):" +
                string.Concat(errors.Select(e => $"{Environment.NewLine}  - {Line(e)}")));
    }

    internal static List<ConfigError> Check(TrainConfig c, bool checkDataPaths)
    {
        var errors = new List<ConfigError>();
        void Fail(string key, string message) => errors.Add(new ConfigError(key, message));

        void Positive(string key, long value)
        {
            if (value <= 0)
                Fail(key, $"must be at least 1, got {value}; set --{key} to a positive integer.");
        }

        void NonNegative(string key, long value, string zeroMeans)
        {
            if (value < 0)
                Fail(key, $"must be 0 ({zeroMeans}) or positive, got {value}.");
        }

        Positive("batch_size", c.BatchSize);
        Positive("block_size", c.BlockSize);
        Positive("grad_accum_steps", c.GradAccumSteps);
        Positive("max_iters", c.MaxIters);
        Positive("eval_interval", c.EvalInterval);
        Positive("eval_iters", c.EvalIters);
        Positive("log_interval", c.LogInterval);
        Positive("d_model", c.DModel);
        Positive("n_layer", c.NLayer);
        Positive("n_head", c.NHead);
        Positive("multiple_of", c.MultipleOf);
        NonNegative("n_kv_head", c.NKvHead, "same as n_head");
        NonNegative("ffn_hidden", c.FfnHidden, "llama's 8·d_model/3 rule");
        NonNegative("vocab_size", c.VocabSize, "the tokenizer's size");
        NonNegative("checkpoint_interval", c.CheckpointInterval, "save at every evaluation");
        NonNegative("warmup_iters", c.WarmupIters, "no warmup");
        NonNegative("lr_decay_iters", c.LrDecayIters, "decay until max_iters");
        NonNegative("cooldown_iters", c.CooldownIters, "no cool-down");
        NonNegative("n_experts", c.NExperts, "a dense MLP");

        // Far above any real model, and low enough that every size derived from them (ffn_hidden, head_dim, parameter
        // and FLOP counts) stays within its integer type: a typo like d_model 1000000000 is an error, not an overflow.
        void AtMost(string key, long value, long max, string hint)
        {
            if (value > max)
                Fail(key, $"is {value:N0}, more than llmtrain supports ({max:N0}); {hint}");
        }
        AtMost("d_model", c.DModel, 1 << 20, "GPT-3's is 12,288.");
        AtMost("ffn_hidden", c.FfnHidden, 1 << 22, "it is usually about 8/3 of d_model.");
        AtMost("block_size", c.BlockSize, 1 << 22, "LLaMA 3 trains at 8,192.");
        AtMost("vocab_size", c.VocabSize, 1 << 24, "large tokenizers have about 256,000 tokens.");
        AtMost("n_layer", c.NLayer, 4096, "the largest open models have about 128.");
        AtMost("batch_size", c.BatchSize, 1 << 20, "use grad_accum_steps for larger batches.");
        AtMost("n_experts", c.NExperts, 4096, "Mixtral has 8.");
        AtMost("multiple_of", c.MultipleOf, 1 << 20, "llama uses 256."); // ffn_hidden 0 is rounded up to a multiple of it

        if (c.MoeAuxLossCoef < 0)
            Fail("moe_aux_loss_coef", $"must be 0 or positive, got {Num(c.MoeAuxLossCoef)}; 0.01 is usual.");
        if (c.MoeZLossCoef < 0)
            Fail("moe_z_loss_coef", $"must be 0 or positive, got {Num(c.MoeZLossCoef)}; ST-MoE uses 0.001.");

        // Non-finite numbers can only come from code (the loader rejects them), so they get one plain message.
        foreach (var key in ConfigKeys.All.Where(k => k.Type == ConfigValueType.Number))
        {
            var value = (double)key.Get(c);
            if (!double.IsFinite(value))
                Fail(key.Name, $"must be a finite number, got {Num(value)}.");
        }

        // The model's shape is checked by the record it resolves to, once the keys it is built from are in range; a key
        // with a problem already keeps that one. vocab_size 0 waits for the tokenizer (Resolve), so any size stands in.
        string[] sizeKeys = ["vocab_size", "d_model", "n_layer", "n_head", "n_kv_head", "ffn_hidden", "multiple_of", "block_size", "n_experts"];
        if (!errors.Exists(e => sizeKeys.Contains(e.Key)))
        {
            foreach (var (key, message) in (c.VocabSize > 0 ? c : c with { VocabSize = 1 }).ToModelConfig().Problems())
                if (!errors.Exists(e => e.Key == key)) Fail(key, message);
        }

        if (c.LearningRate <= 0)
            Fail("learning_rate", $"must be positive, got {Num(c.LearningRate)}; 1e-3 suits tiny models, 3e-4 larger ones.");
        if (c.MinLr < 0)
            Fail("min_lr", $"must be 0 or positive, got {Num(c.MinLr)}.");
        else if (c.MinLr > c.LearningRate && c.LearningRate > 0)
            Fail("min_lr", $"is {Num(c.MinLr)}, above learning_rate {Num(c.LearningRate)}; the schedule decays from learning_rate down to min_lr, so use at most {Num(c.LearningRate)} (learning_rate/10 is usual).");

        if (c.MaxIters > 0 && c.WarmupIters > c.MaxIters)
            Fail("warmup_iters", $"is {c.WarmupIters}, more than max_iters {c.MaxIters}; use at most {c.MaxIters}.");
        if (c.LrDecayIters > 0 && c.LrDecayIters < c.WarmupIters)
            Fail("lr_decay_iters", $"is {c.LrDecayIters}, before the end of warmup ({c.WarmupIters}); use at least {c.WarmupIters}, or 0 to decay until max_iters.");
        if (c.MaxIters > 0 && c.CooldownIters > 0 && c.WarmupIters + c.CooldownIters > c.MaxIters)
            Fail("cooldown_iters", $"is {c.CooldownIters}; with warmup_iters {c.WarmupIters} that is more than max_iters {c.MaxIters}; use at most {Math.Max(0, c.MaxIters - c.WarmupIters)}.");

        Probability(c.Dropout, "dropout", Fail);
        Probability(c.Beta1, "beta1", Fail);
        Probability(c.Beta2, "beta2", Fail);
        if (c.WeightDecay < 0)
            Fail("weight_decay", $"must be 0 or positive, got {Num(c.WeightDecay)}; 0.1 is usual.");
        if (c.GradClip < 0)
            Fail("grad_clip", $"must be 0 (no clipping) or positive, got {Num(c.GradClip)}; 1.0 is usual.");
        if (c.RopeTheta <= 0)
            Fail("rope_theta", $"must be positive, got {Num(c.RopeTheta)}; llama uses 10000.");
        if (c.NormEps <= 0 || c.NormEps >= 1)
            Fail("norm_eps", $"must be a small positive number, got {Num(c.NormEps)}; llama uses 1e-5.");

        if (c.Sampling is not ("random" or "sequential"))
            Fail("sampling", $"'{c.Sampling}' is not a sampling mode; use random (windows at random positions) or sequential (every window once per epoch).");
        if (c.MaxEpochs < 0)
            Fail("max_epochs", $"{c.MaxEpochs} is negative; use 0 (no limit) or a number of passes over the data.");
        if (c.Dtype == "float16")
            Fail("dtype", "float16 training needs loss scaling, which llmtrain does not do; use bfloat16 (or auto) on GPUs, float32 on CPUs.");
        else if (!Dtypes.Contains(c.Dtype))
            Fail("dtype", $"'{c.Dtype}' is not a dtype; use one of {string.Join(", ", Dtypes)}.");
        if (!IsDevice(c.Device))
            Fail("device", $"'{c.Device}' is not a device; use auto, cpu, cuda or cuda:N (N = 0, 1, ...).");

        CheckData(c.Data, "data", "", checkDataPaths, Fail);
        CheckStages(c, checkDataPaths, Fail);
        return errors;
    }

    /// <param name="key">The key the data belongs to (data, or stages).</param>
    /// <param name="at">Where in that key ("stage 2 " for a stage's data), so the message points at the entry.</param>
    private static void CheckData(DataSpec data, string key, string at, bool checkPaths, Action<string, string> fail)
    {
        foreach (var (source, index) in data.Sources.Select((s, i) => (s, i)))
        {
            var where = data.IsMixture ? $"{at}entry {index} " : at;
            if (string.IsNullOrWhiteSpace(source.Path))
            {
                fail(key, $"{where}has an empty path; give the directory of prepared data.");
                continue;
            }
            if ((data.IsMixture || key == "stages") && source.Path == DataSpec.BuiltinName)
                fail(key, $"{where}is 'builtin', which cannot be mixed with prepared data; prepare the built-in corpus like any other with 'llmtrain prepare', or train on 'builtin' alone.");
            else if (checkPaths && !File.Exists(source.Path) && !Directory.Exists(source.Path))
                fail(key, $"{where}path '{source.Path}' does not exist (looked in {Path.GetFullPath(source.Path)}); prepare the data first with 'llmtrain prepare'" +
                          (key == "data" ? ", or use --data builtin." : "."));
            if (!(source.Weight > 0) || double.IsInfinity(source.Weight))
                fail(key, $"{where}'{source.Path}' has weight {Num(source.Weight)}; weights must be positive numbers (they are normalised to sum to 1).");
        }
    }

    /// <summary>
    /// Every stage but the last ends, the last runs to the end; ends count one thing (steps or tokens) and grow. (A stage
    /// that starts after max_iters is allowed: a run may be resumed with a higher max_iters; the trainer warns.)
    /// </summary>
    private static void CheckStages(TrainConfig c, bool checkPaths, Action<string, string> fail)
    {
        var stages = c.Stages.Items;
        for (int i = 0; i < stages.Count; i++)
        {
            var (until, data) = (stages[i].Until, stages[i].Data);
            string where = $"stage {i + 1}";
            if (data.IsBuiltin)
                fail("stages", $"{where} data is 'builtin', which cannot be mixed with prepared data; prepare the built-in corpus like any other with 'llmtrain prepare' and name its directory.");
            CheckData(data, "stages", $"{where} data ", checkPaths, fail);
            bool last = i == stages.Count - 1;
            if (last && until is { } end)
                fail("stages", $"{where} is the last and has until {end}; the last stage runs to the end of training (max_iters): remove its until, or add a stage after it.");
            else if (!last && until is null)
                fail("stages", $"{where} has no until; every stage but the last says where it ends, e.g. \"until\": 3000 (steps) or \"until\": \"500M tokens\".");
            if (i == 0 || until is not { } current || stages[i - 1].Until is not { } previous)
                continue;
            if (current.InTokens != previous.InTokens)
                fail("stages", $"{where} ends at {current} and stage {i} at {previous}; give every stage's until in the same unit (all steps or all tokens).");
            else if (current.Value <= previous.Value)
                fail("stages", $"{where} ends at {current}, not after stage {i} ({previous}); each stage must end later than the one before.");
        }
    }

    private static void Probability(double value, string key, Action<string, string> fail)
    {
        if (value < 0 || value >= 1)
            fail(key, $"must be in [0, 1), got {Num(value)}.");
    }

    private static bool IsDevice(string device) =>
        device is "auto" or "cpu" or "cuda"
        || (device.StartsWith("cuda:", StringComparison.Ordinal) && device.Length > 5
            && device.AsSpan(5).IndexOfAnyExceptInRange('0', '9') < 0 && device.Length <= 9);

    private static string Num(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
