using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Progress;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

/// <summary>A small prepared dataset made once for the trainer tests (synthetic stories, a 300-token tokenizer).</summary>
public sealed class SmallDataset : IDisposable
{
    public SmallDataset()
    {
        Root = Path.Combine(Path.GetTempPath(), "llmtrain-trainer-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Root);
        var text = Path.Combine(Root, "stories.txt");
        new SyntheticStories(5).WriteText(text, 600);
        Data = Path.Combine(Root, "data");
        new PrepareJob(new PrepareOptions([text], Data, VocabSize: 300, ValFraction: 0.05)).Run();
    }

    public string Root { get; }

    public string Data { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Collects the trainer's log lines.</summary>
internal sealed class LinesProgress : IProgressReporter
{
    public List<string> Lines { get; } = new();

    public void Report(ProgressUpdate update) { }

    public void Info(string message) => Lines.Add(message);

    public void Warn(string message) => Lines.Add("warning: " + message);
}

[Collection("torch")]
public sealed class TrainerTests : IClassFixture<SmallDataset>
{
    private readonly SmallDataset dataset;

    public TrainerTests(SmallDataset dataset) => this.dataset = dataset;

    private TrainConfig Config(string outDir, int maxIters, params string[] extra) => Config(outDir, maxIters, RuntimeCapabilities.CpuOnly, extra);

    private TrainConfig Config(string outDir, int maxIters, RuntimeCapabilities capabilities, params string[] extra)
    {
        string[] args =
        [
            "--data", dataset.Data, "--out_dir", outDir, "--max_iters", maxIters.ToString(), "--batch_size", "4", "--block_size", "32",
            "--d_model", "32", "--n_layer", "2", "--n_head", "4", "--n_kv_head", "2", "--warmup_iters", "5", "--lr_decay_iters", "40",
            "--eval_interval", "10", "--eval_iters", "2", "--log_interval", "1", "--dropout", "0.1", "--grad_accum_steps", "2",
            "--learning_rate", "3e-3", "--min_lr", "3e-4",
            .. extra,
        ];
        var loaded = ConfigLoader.Load(args, new ConfigLoadOptions { Environment = new Dictionary<string, string>() });
        return loaded.Config.Resolve(capabilities, 300);
    }

    /// <summary>Per-step training losses as printed in the log (full precision comes from metrics.jsonl).</summary>
    private static List<double> Losses(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName))
            .Where(e => e.GetProperty("event").GetString() == "train")
            .Select(e => e.GetProperty("loss").GetDouble())
            .ToList();

    private TrainResult Train(TrainConfig cfg, string outDir, bool resume = false, CancellationToken stop = default)
    {
        var run = RunDirectory.Create(cfg);
        if (!File.Exists(run.ConfigPath)) File.WriteAllText(run.ConfigPath, ConfigJson.Render(cfg));
        using var data = TrainingData.Open(cfg.Data, (ulong)cfg.Seed, new LinesProgress());
        using var trainer = new Trainer(cfg, run, data, new LinesProgress());
        if (resume) trainer.Resume(run.Checkpoints.Find("latest")!);
        return trainer.Run(stop);
    }

    [Fact]
    public void Forty_steps_straight_equal_twenty_then_resume_to_forty_bit_for_bit()
    {
        var straight = Path.Combine(dataset.Root, "straight");
        var split = Path.Combine(dataset.Root, "split");
        Train(Config(straight, 40), straight);
        Train(Config(split, 20), split);
        Train(Config(split, 40), split, resume: true);

        var a = Losses(straight);
        var b = Losses(split);
        Assert.Equal(40, a.Count);
        Assert.Equal(a, b); // exact equality: same data, same RNG (dropout), same optimizer state
        using var scope = torch.NewDisposeScope();
        var wa = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(straight, "checkpoints", "latest", "model.safetensors"));
        var wb = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(split, "checkpoints", "latest", "model.safetensors"));
        foreach (var (name, t) in wa) Assert.True(t.equal(wb[name]), $"{name} differs after resume");
    }

    /// <summary>On the test device: bfloat16 autocast on a GPU that has it, float32 elsewhere.</summary>
    [Fact]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Training_lowers_the_loss_and_writes_best_and_latest_checkpoints()
    {
        var dir = Path.Combine(dataset.Root, "lowers");
        var cfg = Config(dir, 40, TestCapabilities.Current, "--device", TestDevice.Name);
        Assert.Equal(TestDevice.Name, cfg.Device);
        var result = Train(cfg, dir);
        Assert.False(result.Interrupted);
        Assert.True(result.LastValLoss < result.FirstValLoss - 0.5, $"val loss {result.FirstValLoss} → {result.LastValLoss}");
        Assert.True(File.Exists(Path.Combine(dir, "checkpoints", "best", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir, "checkpoints", "latest", "optimizer.safetensors")));
        var evals = MetricsLog.Read(Path.Combine(dir, MetricsLog.FileName)).Count(e => e.GetProperty("event").GetString() == "eval");
        Assert.Equal(5, evals); // steps 0, 10, 20, 30 and the end
    }

    [Fact]
    public void A_stop_request_saves_a_checkpoint_at_the_current_step()
    {
        var dir = Path.Combine(dataset.Root, "stop");
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        var result = Train(Config(dir, 40), dir, stop: stop.Token);
        Assert.True(result.Interrupted);
        Assert.Equal(1, result.Step);
        var state = LlmTrainer.Checkpoints.CheckpointState.Read(Path.Combine(dir, "checkpoints", "latest"));
        Assert.Equal(1, state.Step);
    }

    [Fact]
    public void A_diverging_run_stops_with_a_message_naming_the_step()
    {
        var dir = Path.Combine(dataset.Root, "diverge");
        var e = Assert.Throws<LlmTrainerException>(() => Train(Config(dir, 40, "--learning_rate", "1e30", "--min_lr", "1e29", "--grad_clip", "0"), dir));
        Assert.Matches(@"diverged at step \d+", e.Message);
    }

    [Fact]
    public void Resuming_with_another_model_shape_is_refused()
    {
        var dir = Path.Combine(dataset.Root, "shape");
        Train(Config(dir, 6), dir);
        var other = Config(dir, 8, "--d_model", "64");
        var e = Assert.Throws<LlmTrainerException>(() => Train(other, dir, resume: true));
        Assert.Contains("another shape", e.Message);
    }
}
