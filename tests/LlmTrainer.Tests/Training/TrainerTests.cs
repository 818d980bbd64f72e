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
            .. extra.Contains("--stages") ? (string[])[] : ["--data", dataset.Data],
            "--out_dir", outDir, "--max_iters", maxIters.ToString(), "--batch_size", "4", "--block_size", "32",
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

    private static List<long> TrainSteps(string runDir) =>
        MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName))
            .Where(e => e.GetProperty("event").GetString() == "train")
            .Select(e => e.GetProperty("step").GetInt64())
            .ToList();

    /// <summary>Asks the run to stop once it reports a given step.</summary>
    private sealed class StopAt(long step, CancellationTokenSource stop) : IProgressReporter
    {
        public void Report(ProgressUpdate update)
        {
            if (update.Task == "train" && update.Completed >= step) stop.Cancel();
        }

        public void Info(string message) { }

        public void Warn(string message) { }
    }

    private TrainResult Train(TrainConfig cfg, string outDir, bool resume = false, CancellationToken stop = default, IProgressReporter? progress = null)
    {
        var run = File.Exists(Path.Combine(outDir, RunDirectory.ConfigFileName)) ? RunDirectory.Open(outDir) : RunDirectory.Create(cfg);
        if (!File.Exists(run.ConfigPath)) File.WriteAllText(run.ConfigPath, ConfigJson.Render(cfg));
        using var data = TrainingData.Open(cfg, new LinesProgress());
        using var trainer = new Trainer(cfg, run, data, progress ?? new LinesProgress());
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

    [Fact]
    public void With_activation_checkpointing_a_resumed_run_is_bit_identical_and_close_to_the_plain_run()
    {
        var straight = Path.Combine(dataset.Root, "ckpt-straight");
        var split = Path.Combine(dataset.Root, "ckpt-split");
        var plain = Path.Combine(dataset.Root, "ckpt-plain");
        string[] on = ["--activation_checkpointing", "true"];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long handles = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        Train(Config(straight, 30, on), straight);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(handles, Tensor.LiveHandleCount); // a whole run, its trainer and data disposed, leaves no tensor behind
        Assert.Equal(leaked, Tensor.LeakedCount);
        Train(Config(split, 15, on), split);
        Train(Config(split, 30, on), split, resume: true);
        Train(Config(plain, 30), plain);

        var a = Losses(straight);
        Assert.Equal(30, a.Count);
        Assert.Equal(a, Losses(split));
        // Same dropout masks and gradients up to rounding in the order they are summed (the tied embedding's).
        foreach (var (x, y) in a.Zip(Losses(plain)))
            Assert.True(Math.Abs(x - y) < 1e-4, $"loss {x} with checkpointing, {y} without");
    }

    private static List<System.Text.Json.JsonElement> Events(string runDir, string name) =>
        MetricsLog.Read(Path.Combine(runDir, MetricsLog.FileName)).Where(e => e.GetProperty("event").GetString() == name).ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_moe_run_resumed_at_step_ten_equals_twenty_steps_straight_bit_for_bit(bool activationCheckpointing)
    {
        var tag = activationCheckpointing ? "ckpt" : "plain";
        var straight = Path.Combine(dataset.Root, $"moe-{tag}-straight");
        var split = Path.Combine(dataset.Root, $"moe-{tag}-split");
        string[] moe =
        [
            "--n_experts", "4", "--experts_per_token", "2", "--moe_z_loss_coef", "0.001", "--moe_capacity_factor", "1.25",
            "--activation_checkpointing", activationCheckpointing ? "true" : "false",
        ];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long handles = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        Train(Config(straight, 20, moe), straight);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(handles, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
        Train(Config(split, 10, moe), split);
        Train(Config(split, 20, moe), split, resume: true);

        Assert.Equal(20, Losses(straight).Count);
        Assert.Equal(Losses(straight), Losses(split));
        double[] Router(string dir, string key) => Events(dir, "train").Select(e => e.GetProperty(key).GetDouble()).ToArray();
        Assert.Equal(Router(straight, "aux_loss"), Router(split, "aux_loss"));
        Assert.Equal(Router(straight, "z_loss"), Router(split, "z_loss"));
        Assert.All(Router(straight, "aux_loss"), aux => Assert.InRange(aux, 1.0, 2.0)); // 1 is a perfect balance
        Assert.True(Events(straight, "train").Sum(e => e.GetProperty("dropped_tokens").GetInt64()) > 0, "capacity 1.25 should drop some tokens");
        using var scope = torch.NewDisposeScope();
        var wa = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(straight, "checkpoints", "latest", "model.safetensors"));
        var wb = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(split, "checkpoints", "latest", "model.safetensors"));
        Assert.Contains("model.layers.1.block_sparse_moe.experts.3.w2.weight", wa.Keys);
        foreach (var (name, t) in wa) Assert.True(t.equal(wb[name]), $"{name} differs after resume");

        var eval = Events(straight, "eval")[^1];
        var load = eval.GetProperty("expert_load").EnumerateArray().Select(l => l.EnumerateArray().Select(s => s.GetDouble()).ToArray()).ToArray();
        Assert.Equal(2, load.Length);
        Assert.All(load, layer => Assert.Equal(1.0, layer.Sum(), 4));
        Assert.Equal(load.Max(l => l.Max() / l.Average()), eval.GetProperty("expert_balance").GetDouble(), 4);
    }

    [Fact]
    public void A_moe_run_logs_its_router_losses_apart_from_the_loss()
    {
        var dir = Path.Combine(dataset.Root, "moe-log");
        var lines = new LinesProgress();
        Train(Config(dir, 5, "--n_experts", "4", "--eval_interval", "100"), dir, progress: lines);
        Assert.Contains(lines.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^step 5/5 \| loss \d+\.\d+ \| aux \d+\.\d+ \| z \d+\.\d+ \| lr"));
        Assert.Contains(lines.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"val loss \d+\.\d+, expert balance \d+\.\d+ \(max/mean load\)"));
        Assert.DoesNotContain(lines.Lines, l => l.Contains("dropped", StringComparison.Ordinal)); // no capacity factor: nothing dropped
        Assert.All(Events(dir, "train"), e => Assert.False(e.TryGetProperty("dropped_tokens", out _)));
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
    public void A_run_stopped_between_log_lines_resumes_bit_for_bit()
    {
        // Losses are read back every 5 steps and the latest checkpoint is saved every 7; the stop comes at step 13, when
        // steps 11–13 are unread and the next batch is already drawn: the checkpoint must hold the cursor before it.
        var straight = Path.Combine(dataset.Root, "midrun-straight");
        var split = Path.Combine(dataset.Root, "midrun-split");
        string[] cadence = ["--log_interval", "5", "--checkpoint_interval", "7"];
        Train(Config(straight, 30, cadence), straight);
        using (var stop = new CancellationTokenSource())
        {
            var result = Train(Config(split, 30, cadence), split, stop: stop.Token, progress: new StopAt(13, stop));
            Assert.True(result.Interrupted);
            Assert.Equal(13, result.Step);
        }
        Train(Config(split, 30, cadence), split, resume: true);

        var a = Losses(straight);
        Assert.Equal([5, 10, 15, 20, 25, 30], TrainSteps(straight));
        Assert.Equal(TrainSteps(straight), TrainSteps(split));
        Assert.Equal(a, Losses(split));
        // Resumed between evaluation steps, the run evaluates where the uninterrupted one does, no more.
        Assert.Equal([0L, 10, 20, 30], Events(split, "eval").Select(e => e.GetProperty("step").GetInt64()));
        using var scope = torch.NewDisposeScope();
        var wa = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(straight, "checkpoints", "latest", "model.safetensors"));
        var wb = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(split, "checkpoints", "latest", "model.safetensors"));
        foreach (var (name, t) in wa) Assert.True(t.equal(wb[name]), $"{name} differs after resume");
    }

    [Theory]
    [InlineData(5)] // no evaluation step: the finished run's final evaluation stays, and is not made again
    [InlineData(10)] // an evaluation step: made again, in place of the final evaluation
    public void A_finished_run_extended_to_more_steps_keeps_one_evaluation_at_its_old_end(int end)
    {
        var dir = Path.Combine(dataset.Root, $"extended-{end}");
        Train(Config(dir, end), dir);
        double finalVal = Events(dir, "eval").Single(e => e.GetProperty("step").GetInt64() == end).GetProperty("val_loss").GetDouble();
        Train(Config(dir, 12), dir, resume: true);

        var evals = Events(dir, "eval");
        Assert.Equal(end == 5 ? [0L, 5, 10, 12] : [0L, 10, 12], evals.Select(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(finalVal, evals.Single(e => e.GetProperty("step").GetInt64() == end).GetProperty("val_loss").GetDouble());
    }

    [Fact]
    public void Divergence_found_at_a_later_log_line_names_the_step_it_happened_at()
    {
        string[] diverge = ["--learning_rate", "1e30", "--min_lr", "1e29", "--grad_clip", "0"];
        var every = Path.Combine(dataset.Root, "diverge-every");
        var seldom = Path.Combine(dataset.Root, "diverge-seldom");
        var e1 = Assert.Throws<LlmTrainerException>(() => Train(Config(every, 40, diverge), every));
        var e2 = Assert.Throws<LlmTrainerException>(() => Train(Config(seldom, 40, [.. diverge, "--log_interval", "9", "--eval_interval", "100"]), seldom));
        var step = System.Text.RegularExpressions.Regex.Match(e1.Message, @"diverged at step (\d+)").Groups[1].Value;
        Assert.NotEqual("", step);
        Assert.Contains($"diverged at step {step}:", e2.Message);
        Assert.False(Directory.Exists(Path.Combine(seldom, "checkpoints", "latest")), "a diverged run must not save its weights");
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

    /// <summary>A dataset of about 190 windows of 33 tokens: an epoch of sequential sampling is about 24 steps of 8 windows.</summary>
    private string SmallEpochData()
    {
        string dir = Path.Combine(dataset.Root, "epochs");
        lock (dataset)
        {
            if (!Directory.Exists(dir))
            {
                var text = Path.Combine(dataset.Root, "epochs.txt");
                new SyntheticStories(9).WriteText(text, 20);
                new PrepareJob(new PrepareOptions([text], dir, TokenizerPath: Path.Combine(dataset.Data, "tokenizer.json"), ValFraction: 0.1)).Run();
            }
        }
        return dir;
    }

    [Fact]
    public void Sequential_sampling_with_max_epochs_stops_after_one_pass_and_logs_the_epoch()
    {
        string data = SmallEpochData();
        var meta = DatasetMeta.Load(data);
        long windows = (meta.Train.Tokens - 1) / 32;
        long stepsPerEpoch = (windows + 7) / 8; // 4 rows × 2 micro-batches per step
        var outDir = Path.Combine(dataset.Root, "max-epochs");
        var progress = new LinesProgress();
        var result = Train(Config(outDir, 1000, "--data", data, "--sampling", "sequential", "--max_epochs", "1"), outDir, progress: progress);
        Assert.Equal(stepsPerEpoch, result.Step);
        Assert.Contains(progress.Lines, l => l.Contains($"max_epochs 1 reached at step {stepsPerEpoch}", StringComparison.Ordinal));
        Assert.Contains(progress.Lines, l => l.StartsWith("step 1/1000 | epoch 0.0", StringComparison.Ordinal));
        Assert.Contains(progress.Lines, l => l.StartsWith($"step {stepsPerEpoch}/1000 | epoch 1.0", StringComparison.Ordinal));
    }

    [Fact]
    public void Sequential_sampling_resumed_mid_epoch_equals_the_run_straight_through_bit_for_bit()
    {
        string data = SmallEpochData();
        var straight = Path.Combine(dataset.Root, "seq-straight");
        var split = Path.Combine(dataset.Root, "seq-split");
        // 34 steps cross the end of the first epoch (about 24 steps); the resume at 13 is inside it.
        Train(Config(straight, 34, "--data", data, "--sampling", "sequential"), straight);
        Train(Config(split, 13, "--data", data, "--sampling", "sequential"), split);
        Train(Config(split, 34, "--data", data, "--sampling", "sequential"), split, resume: true);
        var a = Losses(straight);
        Assert.Equal(34, a.Count);
        Assert.Equal(a, Losses(split));
        // And the order differs from random sampling's.
        var random = Path.Combine(dataset.Root, "seq-random");
        Train(Config(random, 5, "--data", data), random);
        Assert.NotEqual(a[..5], Losses(random));
    }

    /// <summary>Other stories, tokenized with the small dataset's tokenizer so that the two mix.</summary>
    private string SecondSource()
    {
        string dir = Path.Combine(dataset.Root, "second");
        lock (dataset)
        {
            if (!Directory.Exists(dir))
            {
                var text = Path.Combine(dataset.Root, "second.txt");
                new SyntheticStories(11).WriteText(text, 200);
                new PrepareJob(new PrepareOptions([text], dir, TokenizerPath: Path.Combine(dataset.Data, "tokenizer.json"), ValFraction: 0.1)).Run();
            }
        }
        return dir;
    }

    /// <summary>The small dataset alone until <paramref name="until"/>, then a 1:3 mixture of it and <see cref="SecondSource"/>.</summary>
    private string[] TwoStages(string until) =>
        ["--stages", $$"""[{"until": {{until}}, "data": "{{dataset.Data}}"}, {"data": [{"path": "{{dataset.Data}}"}, {"path": "{{SecondSource()}}", "weight": 3}]}]"""];

    [Fact]
    public void Stages_switch_the_mixture_at_their_end_and_each_datasets_val_loss_is_logged()
    {
        var staged = Path.Combine(dataset.Root, "staged");
        var plain = Path.Combine(dataset.Root, "staged-plain");
        var progress = new LinesProgress();
        Train(Config(staged, 14, TwoStages("6")), staged, progress: progress);
        Train(Config(plain, 14), plain);

        // A first stage of the small dataset alone draws what a run on it alone draws, up to its end.
        var (a, b) = (Losses(staged), Losses(plain));
        Assert.Equal(a[..6], b[..6]);
        Assert.NotEqual(a[6], b[6]);

        Assert.Contains(progress.Lines, l => l == $"stage 1/2 from step 0 until step 6: {dataset.Data}");
        Assert.Contains(progress.Lines, l => l == $"stage 2/2 from step 6 to the end: {dataset.Data} (weight 1), {SecondSource()} (weight 3)");
        Assert.Contains(progress.Lines, l => l.StartsWith("step 6/14 | stage 1/2 | loss", StringComparison.Ordinal));
        Assert.Contains(progress.Lines, l => l.StartsWith("step 7/14 | stage 2/2 | loss", StringComparison.Ordinal));
        Assert.Equal([(0L, 1), (6L, 2)], Events(staged, "stage").Select(e => (e.GetProperty("step").GetInt64(), e.GetProperty("stage").GetInt32())));

        // Every evaluation reports each dataset; the val loss is the last stage's mixture of them.
        var evals = Events(staged, "eval");
        Assert.Equal([0L, 10, 14], evals.Select(e => e.GetProperty("step").GetInt64()));
        foreach (var e in evals)
        {
            var sources = e.GetProperty("source_val_loss");
            double first = sources.GetProperty("data").GetDouble(), second = sources.GetProperty("second").GetDouble();
            Assert.NotEqual(first, second);
            Assert.Equal(0.25 * first + 0.75 * second, e.GetProperty("val_loss").GetDouble(), 1e-12);
        }
        Assert.Contains(progress.Lines, l => l.StartsWith("step 14: train loss ", StringComparison.Ordinal) && l.Contains("val loss") && l.Contains("(data ") && l.Contains(", second "));
        // A run on one dataset reports no per-dataset losses.
        Assert.All(Events(plain, "eval"), e => Assert.False(e.TryGetProperty("source_val_loss", out _)));
    }

    [Fact]
    public void A_dataset_spelled_two_ways_in_two_stages_is_one_dataset()
    {
        // A trailing separator (as shell completion writes it) or a "." is the same directory: one dataset, one place,
        // one val loss; and the run's config.json, whose paths are made absolute, opens the same datasets on resume.
        var sameDirectory = Path.Combine(dataset.Root, ".", "data") + Path.DirectorySeparatorChar;
        var cfg = Config(Path.Combine(dataset.Root, "staged-spelled"), 5,
            "--stages", $$"""[{"until": 3, "data": "{{dataset.Data}}"}, {"data": [{"path": "{{sameDirectory}}"}, {"path": "{{SecondSource()}}", "weight": 3}]}]""");
        using var data = TrainingData.Open(cfg, new LinesProgress());
        Assert.Equal(["data", "second"], data.SourceNames);
        Assert.Equal([1.0, 0.0], data.Stages[0].Weights);
        Assert.Equal([1.0, 3.0], data.Stages[1].Weights);
    }

    [Fact]
    public void A_stage_ending_in_tokens_ends_at_the_step_that_reaches_them()
    {
        // 4 rows × 32 tokens × 2 micro-batches = 256 tokens per step: 700 tokens are reached by step 3.
        var dir = Path.Combine(dataset.Root, "staged-tokens");
        var progress = new LinesProgress();
        Train(Config(dir, 5, TwoStages("\"700 tokens\"")), dir, progress: progress);
        Assert.Contains(progress.Lines, l => l == $"stage 1/2 from step 0 until 700 tokens: {dataset.Data}");
        Assert.Contains(progress.Lines, l => l.StartsWith("stage 2/2 from step 3 to the end", StringComparison.Ordinal));
    }

    [Fact]
    public void A_stage_whose_token_end_falls_in_the_step_where_it_begins_is_said_to_train_no_step()
    {
        // 256 tokens a step: 700 tokens end at step 3, and so do 750.
        var dir = Path.Combine(dataset.Root, "staged-empty");
        var progress = new LinesProgress();
        Train(Config(dir, 5, "--stages",
            $$"""[{"until": "700 tokens", "data": "{{dataset.Data}}"}, {"until": "750 tokens", "data": "{{SecondSource()}}"}, {"data": "{{dataset.Data}}"}]"""), dir, progress: progress);
        Assert.Contains("warning: stage 2 of 3 ends at 750 tokens within step 3, where it begins (256 tokens a step), so it trains no step; move its until further.", progress.Lines);
        Assert.DoesNotContain(progress.Lines, l => l.StartsWith("stage 2/3", StringComparison.Ordinal));
        Assert.Contains(progress.Lines, l => l.StartsWith("stage 3/3 from step 3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("random", 6)]
    [InlineData("random", 9)]
    [InlineData("sequential", 5)]
    public void A_staged_run_resumed_before_at_or_after_a_stage_end_equals_the_run_straight_through(string sampling, int stopAt)
    {
        var straight = Path.Combine(dataset.Root, $"staged-straight-{sampling}");
        var split = Path.Combine(dataset.Root, $"staged-split-{sampling}-{stopAt}");
        lock (dataset)
        {
            if (!Directory.Exists(straight)) Train(Config(straight, 14, [.. TwoStages("6"), "--sampling", sampling]), straight);
        }
        var first = new LinesProgress();
        Train(Config(split, stopAt, [.. TwoStages("6"), "--sampling", sampling]), split, progress: first);
        var warning = $"warning: stage 2 of 2 starts at step 6, but this run stops at max_iters {stopAt}; it trains on stages before it only.";
        Assert.Equal(stopAt <= 6, first.Lines.Contains(warning));
        var progress = new LinesProgress();
        Train(Config(split, 14, [.. TwoStages("6"), "--sampling", sampling]), split, resume: true, progress: progress);
        Assert.Contains(progress.Lines, l => l.StartsWith($"stage {(stopAt < 6 ? 1 : 2)}/2 from step {stopAt} ", StringComparison.Ordinal));

        Assert.Equal(Losses(straight), Losses(split));
        // The first run's final evaluation at stopAt (no evaluation step, so the straight run has none there) stays; the
        // other evaluations are the straight run's.
        Assert.Equal([0L, stopAt, 10, 14], Events(split, "eval").Select(e => e.GetProperty("step").GetInt64()));
        Assert.Equal(Events(straight, "eval").Select(e => e.GetProperty("val_loss").GetDouble()),
            Events(split, "eval").Where(e => e.GetProperty("step").GetInt64() != stopAt).Select(e => e.GetProperty("val_loss").GetDouble()));
        using var scope = torch.NewDisposeScope();
        var wa = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(straight, "checkpoints", "latest", "model.safetensors"));
        var wb = LlmTrainer.Checkpoints.TensorFiles.Load(Path.Combine(split, "checkpoints", "latest", "model.safetensors"));
        foreach (var (name, t) in wa) Assert.True(t.equal(wb[name]), $"{name} differs after resume");
    }
}
