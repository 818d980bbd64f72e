using System.Globalization;
using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Interop;

/// <summary>
/// <c>init_from</c>: a new run that starts from a checkpoint's weights (continued pretraining) — one of ours (a run or a
/// checkpoint directory) or another tool's (<see cref="ImportedCheckpoint"/>). The model's shape comes from the
/// checkpoint; a shape key set otherwise is an error, and block_size defaults to the checkpoint's context. The data must
/// be tokenized with the checkpoint's own tokenizer.
/// </summary>
public static class InitFrom
{
    /// <summary>The keys that make up the model's shape, and how to read each from a model shape.</summary>
    private static readonly (string Key, Func<LlamaConfig, object> Of)[] ShapeKeys =
    [
        ("vocab_size", m => m.VocabSize),
        ("d_model", m => m.DModel),
        ("n_layer", m => m.NLayer),
        ("n_head", m => m.NHead),
        ("n_kv_head", m => m.NKvHead),
        ("ffn_hidden", m => m.FfnHidden),
        ("rope_theta", m => m.RopeTheta),
        ("norm_eps", m => m.NormEps),
        ("tie_embeddings", m => m.TieEmbeddings),
        ("n_experts", m => m.NExperts),
        ("experts_per_token", m => m.ExpertsPerToken),
    ];

    /// <summary>
    /// The config with the checkpoint's model shape. <paramref name="shapeFromDefaults"/>: the config file is the built-in
    /// default one, not chosen by the user, so its shape keys give way silently; any other layer that sets a shape key to
    /// another value than the checkpoint's is an error naming the key, where it was set and the checkpoint's value.
    /// </summary>
    public static TrainConfig Apply(LoadedConfig loaded, bool shapeFromDefaults)
    {
        var config = loaded.Config;
        if (config.InitFrom.Length == 0) return config;
        string path;
        try
        {
            (path, _) = TrainedModel.Locate(config.InitFrom);
        }
        catch (LlmTrainerException e)
        {
            throw new LlmTrainerException($"init_from: {e.Message}", e);
        }
        var shape = Shape(path);
        // vocab_size 0 (automatic) is the checkpoint's.
        var requested = (config.VocabSize == 0 ? config with { VocabSize = shape.VocabSize } : config).ToModelConfig();
        var conflicts = new List<string>();
        foreach (var (key, of) in ShapeKeys)
        {
            if (!loaded.KeySources.TryGetValue(key, out var source) || (shapeFromDefaults && source == loaded.Origin)) continue;
            if (key == "experts_per_token" && !shape.IsMoe) continue;
            var mine = of(requested);
            var theirs = of(shape);
            if (!Equals(mine, theirs))
                conflicts.Add(string.Create(CultureInfo.InvariantCulture, $"{key} is {Format(mine)} ({source}) but the checkpoint's is {Format(theirs)}"));
        }
        if (conflicts.Count > 0)
            throw new LlmTrainerException(
                $"init_from {path}: the model's shape comes from the checkpoint; {string.Join("; ", conflicts)}. Leave these keys out (or set them to the checkpoint's values).");

        bool blockSet = loaded.KeySources.TryGetValue("block_size", out var blockSource) && !(shapeFromDefaults && blockSource == loaded.Origin);
        return config.WithModelShape(shape) with { InitFrom = path, BlockSize = blockSet ? config.BlockSize : shape.BlockSize };
    }

    private static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The model shape of a checkpoint <see cref="TrainedModel.Locate"/> found, read without its weights.</summary>
    private static LlamaConfig Shape(string path)
    {
        if (ImportedCheckpoint.Detect(path) is { } imported) return imported.Config;
        var run = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))!;
        var config = ConfigLoader.Load([], new ConfigLoadOptions
        {
            Config = Path.Combine(run, RunDirectory.ConfigFileName),
            CheckDataPaths = false,
            Environment = new Dictionary<string, string>(),
        }).Config;
        return config.ToModelConfig();
    }

    /// <summary>
    /// Copies the checkpoint's weights into <paramref name="model"/> (built from <paramref name="config"/>, after
    /// <see cref="Apply"/>), after checking that the training data's tokenizer is the checkpoint's.
    /// </summary>
    public static void LoadInto(Llama model, TrainConfig config, Tokenizer dataTokenizer)
    {
        using var source = TrainedModel.Load(config.InitFrom, "cpu");
        if (source.Tokenizer.Hash != dataTokenizer.Hash)
            throw new LlmTrainerException(
                $"init_from {config.InitFrom}: the training data was tokenized with another tokenizer than the checkpoint's; prepare the data with it " +
                $"(llmtrain prepare --tokenizer {TokenizerFile(source)} ...), so that the ids mean what the model learnt.");
        var mine = model.Config with { BlockSize = 0, Dropout = 0, MoeCapacityFactor = 0, DocMask = false, DocumentSeparator = -1 };
        var theirs = source.Model.Config with { BlockSize = 0, Dropout = 0, MoeCapacityFactor = 0, DocMask = false, DocumentSeparator = -1 };
        if (mine != theirs)
            throw new LlmTrainerException($"init_from {config.InitFrom}: the checkpoint's model ({theirs}) is not the run's ({mine}); start the run with the checkpoint's shape.");
        using var scope = torch.NewDisposeScope();
        model.load_state_dict(source.Model.state_dict());
    }

    private static string TokenizerFile(TrainedModel source) =>
        source.Run is { } run ? run.TokenizerPath
        : source.ImportedFormat == "Hugging Face" ? Tokenizer.DirectoryFileNames.Select(n => Path.Combine(source.CheckpointPath, n)).FirstOrDefault(File.Exists) ?? source.CheckpointPath
        : Path.GetDirectoryName(source.CheckpointPath)!;
}
