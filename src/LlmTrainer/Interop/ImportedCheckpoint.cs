using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// A checkpoint written by another tool that llmtrain can sample from, evaluate and train on: a Hugging Face Llama or
/// Mixtral directory (config.json and safetensors, one file or shards with model.safetensors.index.json; float32,
/// float16 or bfloat16), or a llama2.c model .bin (version 0, 1 or 2). Its tokenizer is the one it comes with: the
/// directory's tokenizer files, or a tokenizer.json, tokenizer.model or tokenizer.bin beside the .bin.
/// </summary>
public sealed class ImportedCheckpoint
{
    private static readonly string[] TokenizerNamesBesideBin = ["tokenizer.json", "tokenizer.model", Llama2cTokenizerBin.FileName];

    private ImportedCheckpoint(string path, string format, LlamaConfig config, bool huggingFace)
    {
        Path = path;
        Format = format;
        Config = config;
        IsHuggingFace = huggingFace;
    }

    public string Path { get; }

    /// <summary>"Hugging Face" or "llama2.c version N".</summary>
    public string Format { get; }

    /// <summary>The model's shape; block_size is the checkpoint's context (max_position_embeddings, seq_len).</summary>
    public LlamaConfig Config { get; }

    private bool IsHuggingFace { get; }

    /// <summary>The checkpoint at <paramref name="path"/> when it is one of another tool's; null when it is not (or does not exist).</summary>
    public static ImportedCheckpoint? Detect(string path)
    {
        if (Directory.Exists(path))
        {
            var config = System.IO.Path.Combine(path, HfConfigJson.FileName);
            if (!File.Exists(config) || !IsHfConfig(config)) return null;
            var full = System.IO.Path.GetFullPath(path);
            return new ImportedCheckpoint(full, "Hugging Face", HfConfigJson.Read(config), huggingFace: true);
        }
        if (File.Exists(path) && path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)
            && System.IO.Path.GetFileName(path) != Llama2cTokenizerBin.FileName && Llama2cModelFile.Looks(path))
        {
            var (config, version) = Llama2cModelFile.ReadShape(path);
            return new ImportedCheckpoint(System.IO.Path.GetFullPath(path), $"llama2.c version {version}", config, huggingFace: false);
        }
        return null;
    }

    /// <summary>A Hugging Face config.json (rather than a run's config.json of llmtrain keys): it names a model_type or architectures.</summary>
    private static bool IsHfConfig(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && (doc.RootElement.TryGetProperty("model_type", out _) || doc.RootElement.TryGetProperty("architectures", out _));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The weights under our (Hugging Face) names and rotary layout, as CPU tensors owned by the current dispose scope.</summary>
    public Dictionary<string, Tensor> LoadWeights()
    {
        if (!IsHuggingFace) return Llama2cModelFile.Read(Path).Weights;

        var single = System.IO.Path.Combine(Path, HfExport.SingleFileName);
        var index = System.IO.Path.Combine(Path, HfExport.IndexFileName);
        IEnumerable<string> files;
        if (File.Exists(index))
            files = ReadIndex(index);
        else if (File.Exists(single))
            files = [single];
        else
            throw new LlmTrainerException(File.Exists(System.IO.Path.Combine(Path, "pytorch_model.bin"))
                ? $"{Path} holds pytorch_model.bin, a pickle, which llmtrain never loads; convert it to safetensors (model.safetensors) first."
                : $"{Path} has neither {HfExport.SingleFileName} nor {HfExport.IndexFileName}; a Hugging Face checkpoint keeps its weights there.");
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var (name, t) in TensorFiles.Load(file))
            {
                // Older checkpoints store the rotary frequencies; ours are computed.
                if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
                if (!weights.TryAdd(name, t))
                    throw new LlmTrainerException($"{file}: tensor '{name}' is also in another shard of {Path}.");
            }
        }
        // A tied checkpoint may still store the head: it is the embedding.
        if (Config.TieEmbeddings) weights.Remove("lm_head.weight");
        return weights;
    }

    private IEnumerable<string> ReadIndex(string index)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(index));
        }
        catch (JsonException e)
        {
            throw new LlmTrainerException($"{index} is not valid JSON: {e.Message}", e);
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{index} has no weight_map object; it is not a safetensors index.");
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            var file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : "";
            if (file.Length == 0 || file.Contains('/') || file.Contains('\\') || file.StartsWith('.'))
                throw new LlmTrainerException($"{index}: weight_map gives '{entry.Name}' the file '{file}', which is not a file name in {Path}.");
            files.Add(file);
        }
        foreach (var file in files)
        {
            var full = System.IO.Path.Combine(Path, file);
            if (!File.Exists(full))
                throw new LlmTrainerException($"{index} names the shard {file}, which is missing from {Path}.");
            yield return full;
        }
    }

    /// <summary>The tokenizer the checkpoint comes with; an error saying where one is looked for when there is none.</summary>
    public Tokenizer LoadTokenizer()
    {
        if (IsHuggingFace) return Tokenizer.Load(Path);
        var dir = System.IO.Path.GetDirectoryName(Path)!;
        foreach (var name in TokenizerNamesBesideBin)
        {
            var candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate)) return Tokenizer.Load(candidate);
        }
        throw new LlmTrainerException(
            $"no tokenizer beside {Path}: put the model's tokenizer.bin (llama2.c), tokenizer.model (SentencePiece) or tokenizer.json in {dir}.");
    }

    /// <summary>A config with this checkpoint's model shape and llmtrain's defaults for everything else.</summary>
    public TrainConfig ToTrainConfig() => new TrainConfig { Name = System.IO.Path.GetFileNameWithoutExtension(Path.TrimEnd('/')) }.WithModelShape(Config);
}
