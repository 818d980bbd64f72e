using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Progress;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Config;

/// <summary>Two small prepared datasets (so that changing <c>data</c> changes what is trained on).</summary>
public sealed class TwoDatasets : IDisposable
{
    public TwoDatasets()
    {
        Root = Directory.CreateTempSubdirectory("llmtrain-key-effects-").FullName;
        A = Prepare("a", seed: 5);
        B = Prepare("b", seed: 6);
        var text = Path.Combine(Root, "c.txt");
        new SyntheticStories(7).WriteText(text, 300);
        C = Path.Combine(Root, "c");
        new PrepareJob(new PrepareOptions([text], C, TokenizerPath: Path.Combine(A, DatasetMeta.Load(A).Tokenizer.File), ValFraction: 0.1)).Run();
    }

    private string Prepare(string name, ulong seed)
    {
        var text = Path.Combine(Root, name + ".txt");
        new SyntheticStories(seed).WriteText(text, 300);
        var dir = Path.Combine(Root, name);
        new PrepareJob(new PrepareOptions([text], dir, VocabSize: 300, ValFraction: 0.1)).Run();
        return dir;
    }

    public string Root { get; }

    public string A { get; }

    public string B { get; }

    /// <summary>Other stories tokenized with A's tokenizer, so that A and C mix.</summary>
    public string C { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// No config key without effect: changing any key in <see cref="ConfigKeys"/> changes the model, the run, the run's
/// directory or how the config resolves on a machine, and each key here shows which; otherwise it is listed as
/// informational with the reason. (A key the chosen model cannot use is an error: ConfigValidationTests.)
/// </summary>
[Collection("torch")]
public sealed class ConfigKeyEffectTests(TwoDatasets data) : IClassFixture<TwoDatasets>
{
    /// <summary>Where a key's effect shows.</summary>
    public enum Effect
    {
        /// <summary>The built model: its parameters' names and shapes, its initial values and its training-mode logits.</summary>
        Model,

        /// <summary>A short training run: every logged value but timings, the final weights, when checkpoints were saved.</summary>
        Run,

        /// <summary>Where the run is written.</summary>
        RunDirectory,

        /// <summary>The device and dtype the config resolves to on a machine with a bfloat16 GPU.</summary>
        Resolved,
    }

    /// <summary>Keys whose change has no effect to show, and why they exist anyway.</summary>
    private static readonly Dictionary<string, string> Informational = new()
    {
        ["activation_checkpointing"] = "recomputes each layer in the backward instead of keeping its activations: the same gradients " +
                                       "(ActivationCheckpointingTests) in less memory, which bench train measures",
        ["max_epochs"] = "stops a sequential run after that many passes over a source, which the short probe run never completes; " +
                         "TrainerTests.Sequential_sampling_with_max_epochs_stops_after_one_pass_and_logs_the_epoch shows the stop",
    };

    /// <summary>For each key, a value other than the base config's and where the change shows; MoE keys start from a MoE base.</summary>
    private static readonly (string Key, string Value, Effect Effect, bool Moe)[] Probes =
    [
        ("vocab_size", "400", Effect.Model, false),
        ("d_model", "32", Effect.Model, false),
        ("n_layer", "2", Effect.Model, false),
        ("n_head", "4", Effect.Model, false),
        ("n_kv_head", "1", Effect.Model, false),
        ("ffn_hidden", "40", Effect.Model, false),
        ("multiple_of", "5", Effect.Model, false),
        ("n_experts", "4", Effect.Model, false),
        ("experts_per_token", "1", Effect.Model, true),
        ("moe_capacity_factor", "0.5", Effect.Model, true),
        ("rope_theta", "500", Effect.Model, false),
        ("norm_eps", "0.01", Effect.Model, false),
        ("dropout", "0.2", Effect.Model, false),
        ("tie_embeddings", "false", Effect.Model, false),
        ("seed", "7", Effect.Model, false),
        ("block_size", "8", Effect.Run, false),
        ("batch_size", "3", Effect.Run, false),
        ("grad_accum_steps", "2", Effect.Run, false),
        ("max_iters", "5", Effect.Run, false),
        ("learning_rate", "1e-3", Effect.Run, false),
        ("min_lr", "1e-4", Effect.Run, false),
        ("warmup_iters", "1", Effect.Run, false),
        ("lr_decay_iters", "4", Effect.Run, false),
        ("cooldown_iters", "2", Effect.Run, false),
        ("weight_decay", "0.5", Effect.Run, false),
        ("beta1", "0.5", Effect.Run, false),
        ("beta2", "0.5", Effect.Run, false),
        ("grad_clip", "0.01", Effect.Run, false),
        ("eval_interval", "2", Effect.Run, false),
        ("eval_iters", "2", Effect.Run, false),
        ("eval_seed", "1", Effect.Run, false),
        ("log_interval", "2", Effect.Run, false),
        ("checkpoint_interval", "2", Effect.Run, false),
        ("data", "B", Effect.Run, false),
        ("stages", "A then A+C", Effect.Run, false),
        ("doc_mask", "true", Effect.Run, false),
        ("sampling", "sequential", Effect.Run, false),
        ("moe_aux_loss_coef", "0.5", Effect.Run, true),
        ("moe_z_loss_coef", "0.1", Effect.Run, true),
        ("name", "other", Effect.RunDirectory, false),
        ("out_dir", "elsewhere", Effect.RunDirectory, false),
        ("init_from", "a checkpoint of the base shape", Effect.Run, false),
        ("device", "cpu", Effect.Resolved, false),
        ("dtype", "float32", Effect.Resolved, false),
    ];

    public static TheoryData<string> ProbedKeys() => new(Probes.Select(p => p.Key));

    [Fact]
    public void Every_key_is_probed_or_informational_exactly_once()
    {
        var covered = Probes.Select(p => p.Key).Concat(Informational.Keys).ToList();
        Assert.Equal(covered.Count, covered.Distinct().Count());
        Assert.Equal(ConfigKeys.All.Select(k => k.Name).Order(StringComparer.Ordinal), covered.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(Effect.Model, false)]
    [InlineData(Effect.Model, true)]
    [InlineData(Effect.Run, false)]
    [InlineData(Effect.Run, true)]
    public void A_fingerprint_is_the_same_when_nothing_changes(Effect effect, bool moe)
    {
        // Otherwise every probe would pass by chance.
        Assert.Equal(Fingerprint(effect, moe, [], memoize: false), Fingerprint(effect, moe, [], memoize: false));
    }

    [Theory]
    [MemberData(nameof(ProbedKeys))]
    public void Changing_the_key_changes_what_it_is_for(string key)
    {
        var (_, value, effect, moe) = Probes.Single(p => p.Key == key);
        if (key == "data") value = data.B;
        if (key == "stages") value = $$"""[{"until": 3, "data": "{{data.A}}"}, {"data": [{"path": "{{data.A}}"}, {"path": "{{data.C}}", "weight": 2}]}]""";
        if (key == "out_dir") value = Path.Combine(data.Root, value);
        if (key == "init_from") value = InitCheckpoint();
        Assert.NotEqual(Fingerprint(effect, moe, []), Fingerprint(effect, moe, [$"--{key}", value]));
    }

    private string[] Base(bool moe) =>
    [
        "--data", data.A, "--d_model", "16", "--n_layer", "1", "--n_head", "2", "--block_size", "16", "--batch_size", "2",
        "--max_iters", "6", "--warmup_iters", "2", "--eval_interval", "3", "--eval_iters", "1", "--log_interval", "1",
        "--learning_rate", "3e-3", "--min_lr", "3e-4",
        .. moe ? (string[])["--n_experts", "4"] : [],
    ];

    private static readonly Dictionary<string, string> Fingerprints = new();

    /// <summary>A Hugging Face export of a model of the base shape (other weights than the base run's), with data A's tokenizer.</summary>
    private string InitCheckpoint()
    {
        var dir = Path.Combine(data.Root, "init-hf");
        if (Directory.Exists(dir)) return dir;
        var config = ConfigLoader.Load(Base(false), new ConfigLoadOptions { Environment = new Dictionary<string, string>() }).Config
            .Resolve(RuntimeCapabilities.CpuOnly, 300);
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(99);
        using var model = new Llama(config.ToModelConfig());
        var tokenizer = LlmTrainer.Tokenization.Tokenizer.Load(Path.Combine(data.A, DatasetMeta.Load(data.A).Tokenizer.File));
        ModelExport.Export(new ExportSource(model.Config, model.state_dict(), tokenizer, "init"), ExportFormat.Hf, dir, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
        return dir;
    }

    private string Fingerprint(Effect effect, bool moe, string[] change, bool memoize = true)
    {
        // Stages name their own data, in place of the base's.
        var args = (change.Contains("--stages") ? Base(moe)[2..] : Base(moe)).Concat(change).ToArray();
        var memo = $"{effect} {string.Join(' ', args)}";
        lock (Fingerprints)
        {
            if (memoize && Fingerprints.TryGetValue(memo, out var known)) return known;
        }
        var loaded = ConfigLoader.Load(args, new ConfigLoadOptions { Environment = new Dictionary<string, string>() }).Config;
        var result = effect switch
        {
            Effect.Model => ModelFingerprint(loaded.Resolve(RuntimeCapabilities.CpuOnly, 300)),
            Effect.Run => RunFingerprint(loaded.Resolve(RuntimeCapabilities.CpuOnly, 300)),
            Effect.RunDirectory => Path.GetRelativePath(data.Root,
                RunDirectory.Create(loaded, Path.Combine(data.Root, "runs"), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)).Path),
            _ => loaded.Resolve(new RuntimeCapabilities(1, CudaSupportsBfloat16: true, CpuSupportsBfloat16: false), 300) is var r
                ? $"{r.Device} {r.Dtype}"
                : "",
        };
        lock (Fingerprints) Fingerprints[memo] = result;
        return result;
    }

    private static string Hash(IEnumerable<float> values)
    {
        var bytes = values.SelectMany(BitConverter.GetBytes).ToArray();
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static string ModelFingerprint(TrainConfig config)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(config.Seed);
        using var model = new Llama(config.ToModelConfig());
        var text = new StringBuilder();
        foreach (var (name, p) in model.named_parameters())
            text.Append($"{name} [{string.Join(",", p.shape)}] {Hash(p.ToArray<float>())}\n");
        torch.manual_seed(0);
        var idx = torch.arange(16).remainder(config.VocabSize).view(2, 8);
        text.Append(Hash(model.forward(idx).detach().ToArray<float>())); // in training mode: dropout and capacity apply
        return text.ToString();
    }

    /// <summary>Records, at every step, which step the latest checkpoint holds.</summary>
    private sealed class CheckpointWatcher(string latest) : IProgressReporter
    {
        public StringBuilder Seen { get; } = new();

        public void Report(ProgressUpdate update)
        {
            var state = Path.Combine(latest, "state.json");
            Seen.Append($"{update.Completed}:{(File.Exists(state) ? JsonDocument.Parse(File.ReadAllText(state)).RootElement.GetProperty("step").GetInt64() : -1)} ");
        }

        public void Info(string message) { }

        public void Warn(string message) { }
    }

    private string RunFingerprint(TrainConfig config)
    {
        var dir = Path.Combine(data.Root, "runs", Guid.NewGuid().ToString("N"));
        config = config with { OutDir = dir };
        var run = RunDirectory.Create(config);
        using (var trainingData = TrainingData.Open(config, NullProgress.Instance))
        {
            var watcher = new CheckpointWatcher(Path.Combine(run.CheckpointsPath, "latest"));
            using (var trainer = new Trainer(config, run, trainingData, watcher))
                trainer.Run(CancellationToken.None);
            var text = new StringBuilder(watcher.Seen.ToString()).Append('\n');
            string[] timings = ["time", "tokens_per_sec", "step_ms", "mfu", "peak_memory_mb"];
            foreach (var e in MetricsLog.Read(run.MetricsPath))
                text.Append(string.Join(",", e.EnumerateObject().Where(p => !timings.Contains(p.Name)).Select(p => $"{p.Name}={p.Value.GetRawText()}"))).Append('\n');
            using var scope = torch.NewDisposeScope();
            foreach (var (name, t) in LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(run.CheckpointsPath, "latest", "model.safetensors")).OrderBy(x => x.Key, StringComparer.Ordinal))
                text.Append($"{name} {Hash(t.ToArray<float>())}\n");
            return text.ToString();
        }
    }
}
