using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Checkpoints;

/// <summary>Runs made by hand (config.json, tokenizer.json, checkpoints of a freshly initialised model), no training.</summary>
[Collection("torch")]
public sealed class TrainedModelTests : IDisposable
{
    private static readonly Tokenizer Tokenizer = Tokenizer.Train(new SyntheticStories(3).Stories(50), 300);
    private static readonly DateTime Start = new(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private readonly TempDirectory dir = new();

    private string Runs => dir.Combine("runs");

    public void Dispose() => dir.Dispose();

    private static TrainConfig Config(params string[] extra)
    {
        string[] args = ["--d_model", "16", "--n_layer", "1", "--n_head", "2", "--block_size", "8", .. extra];
        var loaded = ConfigLoader.Load(args, new ConfigLoadOptions { Environment = new Dictionary<string, string>(), CheckDataPaths = false });
        return loaded.Config.Resolve(RuntimeCapabilities.CpuOnly, Tokenizer.VocabSize);
    }

    /// <summary>A run started <paramref name="minutes"/> after <see cref="Start"/> with checkpoints in the given slots.</summary>
    private string MakeRun(string name, int minutes, params string[] slots) => MakeRun(name, minutes, Device.CPU, slots);

    /// <summary>The same, with the checkpoints saved from a model on <paramref name="device"/>.</summary>
    private string MakeRun(string name, int minutes, Device device, params string[] slots)
    {
        var path = Path.Combine(Runs, name);
        Directory.CreateDirectory(path);
        var cfg = Config();
        File.WriteAllText(Path.Combine(path, RunDirectory.ConfigFileName), ConfigJson.Render(cfg));
        Tokenizer.Save(Path.Combine(path, RunDirectory.TokenizerFileName));
        var run = RunDirectory.Open(path);
        torch.manual_seed(minutes);
        using var model = new Llama(cfg.ToModelConfig(), device);
        foreach (var slot in slots)
        {
            var state = new CheckpointState
            {
                Step = slot == CheckpointStore.Best ? 5 : 7,
                TokensSeen = 100,
                ConfigHash = model.Config.ConfigHash(),
                TokenizerHash = Tokenizer.Hash,
            };
            run.Checkpoints.Save(slot, state, d =>
            {
                using var scope = torch.NewDisposeScope();
                TensorFiles.Save(Path.Combine(d, CheckpointStore.ModelFileName), model.state_dict());
            });
        }
        File.SetLastWriteTimeUtc(run.ConfigPath, Start.AddMinutes(minutes));
        return run.Path;
    }

    [Fact]
    public void Without_a_path_the_newest_run_that_has_a_checkpoint_is_chosen()
    {
        MakeRun("old", 0, CheckpointStore.Best, CheckpointStore.Latest);
        var middle = MakeRun("middle", 10, CheckpointStore.Latest);
        MakeRun("newest-without-checkpoints", 20);
        var (path, description) = TrainedModel.Locate(null, Runs);
        Assert.Equal(Path.Combine(middle, "checkpoints", "latest"), path);
        Assert.Equal($"using the latest checkpoint of the newest run, {middle}", description);
    }

    [Fact]
    public void A_run_directory_gives_its_best_checkpoint_else_its_latest()
    {
        var both = MakeRun("both", 0, CheckpointStore.Latest, CheckpointStore.Best);
        var (path, description) = TrainedModel.Locate(both, Runs);
        Assert.Equal(Path.Combine(both, "checkpoints", "best"), path);
        Assert.Equal($"using the best checkpoint of run {both}", description);

        var latestOnly = MakeRun("latest-only", 5, CheckpointStore.Latest);
        Assert.Equal(Path.Combine(latestOnly, "checkpoints", "latest"), TrainedModel.Locate(latestOnly, Runs).Path);
        // Without a path: the newest run, and best again once the run with both is the newest.
        Assert.Equal(Path.Combine(latestOnly, "checkpoints", "latest"), TrainedModel.Locate(null, Runs).Path);
        File.SetLastWriteTimeUtc(Path.Combine(both, RunDirectory.ConfigFileName), Start.AddMinutes(30));
        Assert.Equal(Path.Combine(both, "checkpoints", "best"), TrainedModel.Locate(null, Runs).Path);
    }

    [Fact]
    public void A_checkpoint_directory_is_used_as_given()
    {
        var run = MakeRun("r", 0, CheckpointStore.Latest, CheckpointStore.Best);
        var latest = Path.Combine(run, "checkpoints", "latest");
        var (path, description) = TrainedModel.Locate(latest, Runs);
        Assert.Equal(latest, path);
        Assert.Equal($"using checkpoint {latest}", description);
    }

    [Fact]
    public void Missing_paths_non_runs_and_empty_runs_are_errors_that_say_what_to_give()
    {
        var none = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(null, Runs));
        Assert.Contains("no trained run found", none.Message);
        Assert.Contains("llmtrain train", none.Message);

        var missing = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(dir.Combine("nope"), Runs));
        Assert.Contains("does not exist", missing.Message);

        Directory.CreateDirectory(dir.Combine("plain"));
        var plain = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(dir.Combine("plain"), Runs));
        Assert.Contains("neither a checkpoint", plain.Message);
        Assert.Contains("runs/NAME", plain.Message);

        string file = dir.Combine("ls");
        File.WriteAllBytes(file, [0x7F, (byte)'E', (byte)'L', (byte)'F', 0]);
        var notACheckpoint = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(file, Runs));
        Assert.Contains($"'{file}' is a file, not a checkpoint", notACheckpoint.Message);
        Assert.DoesNotContain("does not exist", notACheckpoint.Message);
        Assert.Contains("runs/NAME", notACheckpoint.Message);

        var run = MakeRun("with-best", 0, CheckpointStore.Best);
        string stateFile = Path.Combine(run, "checkpoints", "best", CheckpointState.FileName);
        var inside = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(stateFile, Runs));
        Assert.Contains($"give its directory, {Path.Combine(run, "checkpoints", "best")}", inside.Message);

        var empty = MakeRun("empty", 0);
        var noCheckpoint = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(empty, Runs));
        Assert.Contains("has no checkpoint yet", noCheckpoint.Message);
        Assert.Contains($"llmtrain train --resume {empty}", noCheckpoint.Message);
    }

    /// <summary>On the test device: a model saved from it and loaded back onto it has the same weights.</summary>
    [Fact]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Load_restores_the_weights_config_and_tokenizer_in_eval_mode()
    {
        var device = TestDevice.Current;
        var run = MakeRun("r", 3, device, CheckpointStore.Best);
        var best = Path.Combine(run, "checkpoints", "best");
        using var trained = TrainedModel.Load(best, TestDevice.Name);
        Assert.Equal(best, trained.CheckpointPath);
        Assert.Equal(run, trained.Run!.Path);
        Assert.Equal(5, trained.State.Step);
        Assert.Equal(Tokenizer.Hash, trained.Tokenizer.Hash);
        Assert.Equal(16, trained.Config.DModel);
        Assert.Equal(device, trained.Device);
        if (!device.IsCuda) Assert.Null(trained.AutocastDtype);
        Assert.False(trained.Model.training);
        using var scope = torch.NewDisposeScope();
        var saved = TensorFiles.Load(Path.Combine(best, CheckpointStore.ModelFileName));
        foreach (var (name, t) in trained.Model.state_dict())
        {
            Assert.Equal(device.Type, t.device.Type);
            Assert.True(t.to(Device.CPU).equal(saved[name]), $"{name} differs from the checkpoint");
        }
    }

    [Fact]
    public void Load_refuses_a_model_file_with_one_flipped_byte_unless_verification_is_off()
    {
        var run = MakeRun("flip", 0, CheckpointStore.Best);
        var best = Path.Combine(run, "checkpoints", "best");
        var model = Path.Combine(best, CheckpointStore.ModelFileName);
        var bytes = File.ReadAllBytes(model);
        bytes[^3] ^= 0x40; // the last weight's exponent: loads fine, computes nonsense
        File.WriteAllBytes(model, bytes);
        var e = Assert.Throws<LlmTrainerException>(() => TrainedModel.Load(best, "cpu"));
        Assert.Contains("is damaged", e.Message);
        Assert.Contains(model, e.Message);

        Environment.SetEnvironmentVariable(CheckpointState.VerifyVariable, "0");
        try
        {
            using var loaded = TrainedModel.Load(best, "cpu");
            Assert.Equal(5, loaded.State.Step);
        }
        finally
        {
            Environment.SetEnvironmentVariable(CheckpointState.VerifyVariable, null);
        }
    }

    [Fact]
    public void Load_refuses_a_run_whose_tokenizer_is_not_the_checkpoints()
    {
        var run = MakeRun("r", 0, CheckpointStore.Best);
        Tokenizer.Train(new SyntheticStories(4).Stories(50), 290).Save(Path.Combine(run, RunDirectory.TokenizerFileName));
        var e = Assert.Throws<LlmTrainerException>(() => TrainedModel.Load(Path.Combine(run, "checkpoints", "best"), "cpu"));
        Assert.Contains("is not the tokenizer checkpoint", e.Message);
        Assert.Contains(Tokenizer.Hash[..12], e.Message);
        Assert.Contains("restore the run's tokenizer.json", e.Message);
    }

    [Fact]
    public void Load_refuses_a_config_that_describes_another_model_shape()
    {
        var run = MakeRun("r", 0, CheckpointStore.Best);
        File.WriteAllText(Path.Combine(run, RunDirectory.ConfigFileName), ConfigJson.Render(Config("--d_model", "32")));
        var e = Assert.Throws<LlmTrainerException>(() => TrainedModel.Load(Path.Combine(run, "checkpoints", "best"), "cpu"));
        Assert.Contains("another shape", e.Message);
        Assert.Contains("restore the run's config.json", e.Message);
    }

    [Fact]
    public void Load_refuses_a_checkpoint_outside_a_run_and_a_cuda_device_that_is_not_there()
    {
        var run = MakeRun("r", 0, CheckpointStore.Best);
        var loose = dir.Combine("loose", "checkpoints", "best");
        Directory.CreateDirectory(loose);
        foreach (var f in Directory.GetFiles(Path.Combine(run, "checkpoints", "best")))
            File.Copy(f, Path.Combine(loose, Path.GetFileName(f)));
        Assert.Contains("not inside a run directory", Assert.Throws<LlmTrainerException>(() => TrainedModel.Load(loose, "cpu")).Message);
        if (!torch.cuda.is_available())
            Assert.Contains("no CUDA device", Assert.Throws<LlmTrainerException>(
                () => TrainedModel.Load(Path.Combine(run, "checkpoints", "best"), "cuda")).Message);
    }
}
