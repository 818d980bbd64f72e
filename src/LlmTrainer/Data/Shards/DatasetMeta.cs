using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmTrainer.Data;

/// <summary>
/// <c>meta.json</c> of a prepared directory: which tokenizer made the shards, how the tokens are stored,
/// what each split holds and where the documents came from. <c>val_split</c> says how val was chosen: by document
/// hash (<c>hash</c>), or as the documents of given files (<c>files</c>, listed in <c>val_sources</c>).
/// </summary>
public sealed record DatasetMeta(
    int FormatVersion,
    string CreatedBy,
    TokenizerMeta Tokenizer,
    int VocabSize,
    string TokenDtype,
    SplitMeta Train,
    SplitMeta Val,
    IReadOnlyList<SourceMeta> Sources,
    DedupMeta Dedup,
    long SkippedRecords,
    double ValFraction,
    long ShardTokens,
    string ValSplit = DatasetMeta.HashSplit,
    IReadOnlyList<SourceMeta>? ValSources = null)
{
    /// <summary><see cref="ValSplit"/> when val holds the documents whose hash falls below <see cref="ValFraction"/>.</summary>
    public const string HashSplit = "hash";

    /// <summary><see cref="ValSplit"/> when val holds exactly the documents of the files in <see cref="ValSources"/> (prepare --val-input).</summary>
    public const string FilesSplit = "files";

    public const string FileName = "meta.json";
    public const int CurrentFormatVersion = 1;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [JsonIgnore]
    public TokenDType DType => TokenDTypes.Parse(TokenDtype, FileName);

    /// <summary>"llmtrain X.Y.Z", recorded so a file can be traced to the version that wrote it.</summary>
    public static string CreatedByThisVersion => $"llmtrain {typeof(DatasetMeta).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}";

    public SplitMeta Split(string name) => name switch
    {
        "train" => Train,
        "val" => Val,
        _ => throw new LlmTrainerException($"Unknown split '{name}': use 'train' or 'val'."),
    };

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static DatasetMeta Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new LlmTrainerException($"{path} not found: '{directory}' is not a prepared data directory. Create one with 'llmtrain prepare --input ... --out {directory}'.");
        DatasetMeta? meta;
        try
        {
            using var stream = File.OpenRead(path);
            meta = JsonSerializer.Deserialize<DatasetMeta>(stream, Json);
        }
        catch (JsonException e)
        {
            throw new LlmTrainerException($"{path}: not a valid meta.json ({e.Message}). Prepare the data again.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"{path}: cannot read ({e.Message}).", e);
        }
        if (meta is null)
            throw new LlmTrainerException($"{path}: meta.json is empty (null). Prepare the data again.");
        if (meta.FormatVersion != CurrentFormatVersion)
            throw new LlmTrainerException($"{path}: format_version {meta.FormatVersion} is not supported (this llmtrain reads version {CurrentFormatVersion}). Prepare the data again.");
        _ = TokenDTypes.Parse(meta.TokenDtype, path);
        if (meta.VocabSize < 1)
            throw new LlmTrainerException($"{path}: vocab_size {meta.VocabSize} must be positive.");
        return meta;
    }

    /// <summary>Writes meta.json and flushes it to disk.</summary>
    public void Save(string directory)
    {
        string path = Path.Combine(directory, FileName);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        JsonSerializer.Serialize(stream, this, Json);
        stream.Flush(flushToDisk: true);
    }
}

/// <param name="File">The tokenizer file inside the prepared directory.</param>
/// <param name="Hash">The tokenizer's content hash; training refuses shards whose hash differs from the run's.</param>
/// <param name="EndOfTextId">The id written before every document: the tokenizer's document-start token (<c>&lt;|endoftext|&gt;</c>, or <c>&lt;s&gt;</c> for SentencePiece).</param>
/// <param name="Source">Where the tokenizer came from: a path given to prepare, or "trained".</param>
/// <param name="Kind">The tokenizer's family and format; absent in directories prepared before it was recorded (byte-level BPE).</param>
public sealed record TokenizerMeta(string File, string Hash, int EndOfTextId, string Source, Tokenization.TokenizerKind? Kind = null);

public sealed record SplitMeta(long Documents, long Tokens, IReadOnlyList<ShardInfo> Shards);

public sealed record ShardInfo(string File, long Tokens);

/// <param name="Format">The format the file was read as: txt, json, jsonl or parquet.</param>
/// <param name="Bytes">Size of the file on disk (compressed size for .gz).</param>
public sealed record SourceMeta(string Path, string Format, long Documents, long Bytes);

/// <param name="DocumentsSeen">Documents read before de-duplication.</param>
/// <param name="DuplicatesRemoved">Documents dropped because an earlier one had the same normalised text.</param>
public sealed record DedupMeta(bool Enabled, long DocumentsSeen, long DuplicatesRemoved);
