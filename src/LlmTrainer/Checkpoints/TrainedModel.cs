using LlmTrainer.Config;
using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// A trained model ready for sampling or evaluation: the weights of one checkpoint, the run's config and its
/// tokenizer, checked against each other. Owns the model.
/// </summary>
public sealed class TrainedModel : IDisposable
{
    private TrainedModel() { }

    public required Llama Model { get; init; }

    public required Tokenizer Tokenizer { get; init; }

    /// <summary>The run's resolved config (its <c>config.json</c>).</summary>
    public required TrainConfig Config { get; init; }

    /// <summary>The run the checkpoint belongs to; null for a checkpoint imported from another tool.</summary>
    public required RunDirectory? Run { get; init; }

    /// <summary>The other tool's format an imported checkpoint was read from ("Hugging Face", "llama2.c version 0"); null for our own.</summary>
    public string? ImportedFormat { get; init; }

    /// <summary>The checkpoint directory the weights came from.</summary>
    public required string CheckpointPath { get; init; }

    public required CheckpointState State { get; init; }

    public required Device Device { get; init; }

    /// <summary>bfloat16 on a CUDA device that has it (run forward passes under autocast); null on CPU.</summary>
    public ScalarType? AutocastDtype =>
        Device.IsCuda && torch.cuda.get_device_properties(Math.Max(Device.Index, 0)).Major >= 8 ? ScalarType.BFloat16 : null;

    /// <summary>
    /// Which checkpoint <paramref name="checkpoint"/> names: a checkpoint directory (it holds <c>state.json</c>), a run
    /// directory (its <c>best</c> checkpoint, else <c>latest</c>), another tool's checkpoint (a Hugging Face directory, a
    /// llama2.c .bin: <see cref="ImportedCheckpoint"/>), or — when null — the newest run under
    /// <paramref name="runsRoot"/> that has a checkpoint. Returns the directory and a sentence saying which it is.
    /// </summary>
    public static (string Path, string Description) Locate(string? checkpoint, string runsRoot = RunDirectory.DefaultRunsRoot)
    {
        if (checkpoint is null)
        {
            var newest = RunDirectory.FindNewest(runsRoot, r => FindInRun(r) is not null)
                ?? throw new LlmTrainerException(
                    $"no trained run found under {Path.GetFullPath(runsRoot)}/; train one with 'llmtrain train' " +
                    "(or name a checkpoint with --checkpoint DIR).");
            var (path, slot) = FindInRun(newest)!.Value;
            return (path, $"using the {slot} checkpoint of the newest run, {newest.Path}");
        }

        if (File.Exists(Path.Combine(checkpoint, CheckpointState.FileName)))
            return (Path.GetFullPath(checkpoint), $"using checkpoint {Path.GetFullPath(checkpoint)}");
        if (ImportedCheckpoint.Detect(checkpoint) is { } imported)
            return (imported.Path, $"using the {imported.Format} checkpoint {imported.Path}");
        if (Directory.Exists(checkpoint) && File.Exists(Path.Combine(checkpoint, RunDirectory.ConfigFileName)))
        {
            var run = RunDirectory.Open(checkpoint);
            var (path, slot) = FindInRun(run)
                ?? throw new LlmTrainerException($"run {run.Path} has no checkpoint yet (checkpoints/best or checkpoints/latest); train it longer or resume it with 'llmtrain train --resume {run.Path}'.");
            return (path, $"using the {slot} checkpoint of run {run.Path}");
        }

        if (File.Exists(checkpoint))
        {
            // A file inside a checkpoint (state.json, model.safetensors): its directory is what was meant.
            string? parent = Path.GetDirectoryName(Path.GetFullPath(checkpoint));
            string hint = parent is not null && File.Exists(Path.Combine(parent, CheckpointState.FileName))
                ? $"give its directory, {parent}"
                : "give a run directory (runs/NAME) or a checkpoint directory in it (runs/NAME/checkpoints/best)";
            // A .bin that is not a llama2.c model: say why, in case one was meant.
            string llama2c = checkpoint.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? $" (or a llama2.c model .bin, which it is not: {Llama2cModelFile.WhyNot(checkpoint)})" : "";
            throw new LlmTrainerException(
                $"'{checkpoint}' is a file, not a checkpoint: a checkpoint is a directory holding {CheckpointState.FileName}{llama2c}; {hint}.");
        }
        throw new LlmTrainerException(
            Directory.Exists(checkpoint)
                ? $"'{checkpoint}' is neither a checkpoint (no {CheckpointState.FileName}) nor a run directory (no {RunDirectory.ConfigFileName}); give runs/NAME or runs/NAME/checkpoints/best."
                : $"checkpoint '{checkpoint}' does not exist; give a run directory (runs/NAME) or a checkpoint in it (runs/NAME/checkpoints/best).");
    }

    /// <summary>Loads the checkpoint that <see cref="Locate"/> finds, onto <paramref name="device"/> ("auto": CUDA when present).</summary>
    public static TrainedModel Load(string checkpointPath, string device = "auto")
    {
        if (!File.Exists(Path.Combine(checkpointPath, CheckpointState.FileName)) && ImportedCheckpoint.Detect(checkpointPath) is { } imported)
            return LoadImported(imported, device);
        var state = CheckpointState.Read(checkpointPath);
        // A checkpoint lives in RUN/checkpoints/SLOT; the run holds config.json and tokenizer.json.
        var runPath = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointPath)))
            ?? throw new LlmTrainerException($"checkpoint '{checkpointPath}' is not inside a run directory (RUN/checkpoints/SLOT).");
        if (!File.Exists(Path.Combine(runPath, RunDirectory.ConfigFileName)))
            throw new LlmTrainerException($"checkpoint '{checkpointPath}' is not inside a run directory: {Path.Combine(runPath, RunDirectory.ConfigFileName)} is missing.");
        var run = RunDirectory.Open(runPath);

        var config = ConfigLoader.Load([], new ConfigLoadOptions
        {
            Config = run.ConfigPath,
            CheckDataPaths = false,
            // The run's config as it was written: LLMTRAIN_* variables meant for training must not reshape the model.
            Environment = new Dictionary<string, string>(),
        }).Config;
        if (!File.Exists(run.TokenizerPath))
            throw new LlmTrainerException($"run {run.Path} has no {RunDirectory.TokenizerFileName}; copy the tokenizer the run was trained with there.");
        var tokenizer = Tokenizer.Load(run.TokenizerPath);
        if (state.TokenizerHash is { } hash && hash != tokenizer.Hash)
            throw new LlmTrainerException(
                $"{run.TokenizerPath} is not the tokenizer checkpoint {checkpointPath} was trained with (hash {tokenizer.Hash[..12]}…, checkpoint {hash[..Math.Min(12, hash.Length)]}…); restore the run's tokenizer.json.");
        if (tokenizer.VocabSize > config.VocabSize)
            throw new LlmTrainerException(
                $"{run.TokenizerPath} has {tokenizer.VocabSize} tokens but the model in {run.ConfigPath} has vocab_size {config.VocabSize}; the tokenizer does not belong to this run.");
        var modelConfig = config.ToModelConfig(tokenizer.BosId);
        if (state.ConfigHash != modelConfig.ConfigHash())
            throw new LlmTrainerException(
                $"{checkpointPath} was written by a model of another shape than {run.ConfigPath} describes; restore the run's config.json.");

        state.VerifyFile(checkpointPath, CheckpointStore.ModelFileName);
        var target = ResolveDevice(device);
        var model = Build(modelConfig with { Dropout = 0 }, target,
            () => TensorFiles.Load(Path.Combine(checkpointPath, CheckpointStore.ModelFileName)));
        return new TrainedModel
        {
            Model = model,
            Tokenizer = tokenizer,
            Config = config,
            Run = run,
            CheckpointPath = Path.GetFullPath(checkpointPath),
            State = state,
            Device = target,
        };
    }

    /// <summary>
    /// A model of <paramref name="config"/> with the weights <paramref name="weights"/> loads (inside a dispose scope), on
    /// <paramref name="target"/>, in eval mode; disposed again if anything fails. With <paramref name="mismatch"/>, weights
    /// that do not fit the config are reported with it.
    /// </summary>
    private static Llama Build(LlamaConfig config, Device target, Func<IReadOnlyDictionary<string, Tensor>> weights, string? mismatch = null)
    {
        var model = new Llama(config);
        try
        {
            using (var scope = torch.NewDisposeScope())
            {
                try
                {
                    model.load_state_dict(weights());
                }
                catch (ArgumentException e) when (mismatch is not null)
                {
                    throw new LlmTrainerException($"{mismatch}: {e.Message}", e);
                }
            }
            if (target != Device.CPU) model.to(target);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Another tool's checkpoint, with its own tokenizer; it has no run, and its state counts no steps.</summary>
    private static TrainedModel LoadImported(ImportedCheckpoint imported, string device)
    {
        var tokenizer = imported.LoadTokenizer();
        if (tokenizer.VocabSize > imported.Config.VocabSize)
            throw new LlmTrainerException(
                $"the tokenizer of {imported.Path} has {tokenizer.VocabSize} tokens but the model's vocabulary has {imported.Config.VocabSize}; they do not belong together.");
        var config = imported.ToTrainConfig();
        var target = ResolveDevice(device);
        var model = Build(imported.Config, target, () => imported.LoadWeights(), $"{imported.Path}: the weights do not fit the model its config describes");
        return new TrainedModel
        {
            Model = model,
            Tokenizer = tokenizer,
            Config = config,
            Run = null,
            ImportedFormat = imported.Format,
            CheckpointPath = imported.Path,
            State = new CheckpointState { Step = 0, TokensSeen = 0, ConfigHash = imported.Config.ConfigHash(), TokenizerHash = tokenizer.Hash },
            Device = target,
        };
    }

    private static Device ResolveDevice(string device)
    {
        if (device == "auto")
            return torch.cuda.is_available() ? Device.CUDA() : Device.CPU;
        var parsed = Device.Parse(device);
        if (parsed.IsCuda && !torch.cuda.is_available())
            throw new LlmTrainerException($"device is '{device}' but no CUDA device is available on this machine; use --device cpu (or auto).");
        return parsed;
    }

    private static (string Path, string Slot)? FindInRun(RunDirectory run)
    {
        var store = run.Checkpoints;
        if (!Directory.Exists(store.Directory)) return null;
        foreach (var slot in new[] { CheckpointStore.Best, CheckpointStore.Latest })
        {
            if (store.Find(slot) is { } path && File.Exists(Path.Combine(path, CheckpointState.FileName)))
                return (path, slot);
        }
        return null;
    }

    public void Dispose() => Model.Dispose();
}
