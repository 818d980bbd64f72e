using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// <c>state.json</c>: everything besides tensors that a resumed run needs to continue exactly where it
/// stopped. Written last into a checkpoint, so its presence marks a checkpoint as complete.
/// </summary>
public sealed record CheckpointState
{
    public const string FileName = "state.json";

    /// <summary>Format version; a reader refuses states newer than it knows.</summary>
    public const int CurrentVersion = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        // A diverged run has a NaN loss; it must still be written down.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
    };

    public int Version { get; init; } = CurrentVersion;

    /// <summary>Optimizer steps completed.</summary>
    public required long Step { get; init; }

    public required long TokensSeen { get; init; }

    /// <summary>The data loader's position, in whatever form the loader chooses.</summary>
    public JsonElement? DataCursor { get; init; }

    /// <summary>Random generator states by name (e.g. <c>cpu</c>, <c>cuda:0</c>, <c>data</c>), as raw bytes (base64 in JSON).</summary>
    public IReadOnlyDictionary<string, byte[]> RngStates { get; init; } = new Dictionary<string, byte[]>();

    /// <summary><see cref="Config.ConfigJson.Hash"/> of the run's config.</summary>
    public required string ConfigHash { get; init; }

    /// <summary>The run's tokenizer hash (<see cref="Tokenization.Tokenizer.Hash"/>); null in checkpoints that predate it.</summary>
    public string? TokenizerHash { get; init; }

    /// <summary>Lowest validation loss so far; null before the first evaluation.</summary>
    public double? BestValLoss { get; init; }

    /// <summary>Processes that trained together (data-parallel ranks); null in checkpoints that predate it (one).</summary>
    public int? WorldSize { get; init; }

    public DateTimeOffset SavedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// SHA-256 (hex) of every other file of the checkpoint, by file name, taken when it was saved; empty in checkpoints
    /// that predate it. <see cref="VerifyFile"/> checks a file against it before it is loaded.
    /// </summary>
    public IReadOnlyDictionary<string, string> FileHashes { get; init; } = new Dictionary<string, string>();

    /// <summary>Set to 0 to load checkpoint files without checking their hashes (for very large checkpoints).</summary>
    public const string VerifyVariable = "LLMTRAIN_VERIFY_CHECKPOINTS";

    /// <summary>The hashes of every file in <paramref name="directory"/> but state.json.</summary>
    public static Dictionary<string, string> HashFiles(string directory) =>
        System.IO.Directory.EnumerateFiles(directory)
            .Where(f => Path.GetFileName(f) != FileName)
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), Sha256, StringComparer.Ordinal);

    /// <summary>
    /// Throws naming the file when <paramref name="fileName"/> in <paramref name="directory"/> no longer has the hash
    /// recorded when the checkpoint was saved (a flipped bit, a truncated copy). Files without a recorded hash pass.
    /// </summary>
    public void VerifyFile(string directory, string fileName)
    {
        if (Environment.GetEnvironmentVariable(VerifyVariable) == "0" || !FileHashes.TryGetValue(fileName, out var expected))
            return;
        var path = Path.Combine(directory, fileName);
        if (!File.Exists(path))
            throw new LlmTrainerException($"checkpoint '{directory}' is missing {fileName}; use the run's other checkpoint (checkpoints/best or checkpoints/latest).");
        var actual = Sha256(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new LlmTrainerException(
                $"'{path}' is damaged: its SHA-256 is {actual[..16]}…, but {expected[..Math.Min(16, expected.Length)]}… was recorded when the checkpoint " +
                $"was saved. Use the run's other checkpoint (checkpoints/best or checkpoints/latest), or set {VerifyVariable}=0 to load it anyway.");
    }

    private static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    public void Write(string directory)
    {
        var path = Path.Combine(directory, FileName);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        JsonSerializer.Serialize(stream, this, Json);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads and checks the state of the checkpoint in <paramref name="directory"/>.</summary>
    public static CheckpointState Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new LlmTrainerException($"checkpoint '{directory}' has no {FileName}; it is incomplete or not a checkpoint directory.");
        CheckpointState? state;
        try
        {
            using var stream = File.OpenRead(path);
            state = JsonSerializer.Deserialize<CheckpointState>(stream, Json);
        }
        catch (JsonException e)
        {
            throw new LlmTrainerException($"'{path}' is not a valid checkpoint state: {e.Message}", e);
        }

        if (state is null)
            throw new LlmTrainerException($"'{path}' is not a valid checkpoint state: it holds null.");
        if (state.Version > CurrentVersion)
            throw new LlmTrainerException($"'{path}' has state version {state.Version}, newer than this llmtrain understands ({CurrentVersion}); upgrade llmtrain.");
        if (state.Version < 1 || state.Step < 0 || state.TokensSeen < 0)
            throw new LlmTrainerException($"'{path}' has an impossible state (version {state.Version}, step {state.Step}, tokens {state.TokensSeen}).");
        return state;
    }
}
