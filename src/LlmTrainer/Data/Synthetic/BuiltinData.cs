using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// The data a run uses when it names none: synthetic stories, a tokenizer trained on them and their shards,
/// made once into the user's cache (<c>$XDG_CACHE_HOME/llmtrain</c> or <c>~/.cache/llmtrain</c>) and reused.
/// The directory name carries the generator version and settings, so a change makes fresh data instead of
/// reusing stale shards. Creation is atomic: a crash or a concurrent run never leaves a half-made directory.
/// </summary>
public static class BuiltinData
{
    public const int Stories = 30_000;
    public const int VocabSize = 2048;
    public const ulong Seed = 1;
    public const double ValFraction = 0.02;

    public static string DirectoryName => $"builtin-stories-v{SyntheticStories.GeneratorVersion}-n{Stories}-vocab{VocabSize}-bpe{Tokenization.BpeTrainer.Version}-seed{Seed}";

    /// <summary>The llmtrain cache directory.</summary>
    public static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
            return Path.Combine(xdg, "llmtrain");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
            home = Path.GetTempPath();
        return Path.Combine(home, ".cache", "llmtrain");
    }

    /// <summary>The prepared directory of the built-in stories, made on first use; pass it to <see cref="TokenDataset.Open"/>.</summary>
    /// <param name="cacheRoot">Where to keep it; defaults to <see cref="CacheRoot"/>.</param>
    public static string EnsurePrepared(IProgressReporter? progress = null, string? cacheRoot = null, CancellationToken cancellationToken = default)
    {
        progress ??= NullProgress.Instance;
        string root = cacheRoot ?? CacheRoot();
        string target = Path.Combine(root, DirectoryName);
        if (IsComplete(target))
            return target;

        progress.Info($"Preparing the built-in stories ({Stories} stories, vocabulary {VocabSize}) in {target} (once)…");
        try
        {
            Directory.CreateDirectory(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"Cannot create the cache directory '{root}' ({e.Message}). Set XDG_CACHE_HOME to a writable directory.", e);
        }
        string work = Path.Combine(root, $".{DirectoryName}.work-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(work);
        try
        {
            string text = Path.Combine(work, "stories.txt");
            new SyntheticStories(Seed).WriteText(text, Stories, progress);
            cancellationToken.ThrowIfCancellationRequested();
            string prepared = Path.Combine(work, "prepared");
            new PrepareJob(new PrepareOptions([text], prepared, VocabSize: VocabSize, ValFraction: ValFraction), progress).Run(cancellationToken);
            // The generated text is deleted: name the generator as the source rather than a file that is gone.
            var meta = DatasetMeta.Load(prepared);
            meta = meta with { Sources = [meta.Sources[0] with { Path = $"synthetic-stories:v{SyntheticStories.GeneratorVersion}:seed{Seed}:n{Stories}" }] };
            meta.Save(prepared);
            try
            {
                Directory.Move(prepared, target);
            }
            catch (IOException) when (IsComplete(target))
            {
                // Another process finished first; its data is identical.
            }
            return target;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static bool IsComplete(string directory)
    {
        if (!DatasetMeta.Exists(directory))
            return false;
        try
        {
            DatasetMeta.Load(directory);
            return true;
        }
        catch (LlmTrainerException)
        {
            return false;
        }
    }
}
