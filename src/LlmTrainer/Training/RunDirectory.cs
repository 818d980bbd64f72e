using System.Globalization;
using System.Text;
using LlmTrainer.Checkpoints;
using LlmTrainer.Config;

namespace LlmTrainer.Training;

/// <summary>
/// A run's directory, <c>runs/&lt;name&gt;-&lt;yyyyMMdd-HHmmss&gt;/</c> unless the config gives <c>out_dir</c>,
/// and the paths of what a run keeps there.
/// </summary>
public sealed class RunDirectory
{
    public const string DefaultRunsRoot = "runs";
    public const string ConfigFileName = "config.json";
    public const string TokenizerFileName = "tokenizer.json";
    public const string CheckpointsDirectoryName = "checkpoints";

    private RunDirectory(string path) => Path = System.IO.Path.GetFullPath(path);

    public string Path { get; }

    /// <summary>The directory's own name, e.g. <c>tiny-20250101-120000</c>.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    public string ConfigPath => System.IO.Path.Combine(Path, ConfigFileName);

    /// <summary>The run's tokenizer: <c>tokenizer.json</c>, or the <c>tokenizer.model</c>/<c>tokenizer.bin</c> a SentencePiece run keeps instead.</summary>
    public string TokenizerPath => Tokenization.TokenizerFiles.DirectoryFiles.Select(f => System.IO.Path.Combine(Path, f)).FirstOrDefault(File.Exists)
                                   ?? System.IO.Path.Combine(Path, TokenizerFileName);

    /// <summary>Where the run keeps <paramref name="tokenizer"/>: its file name in this directory.</summary>
    public string TokenizerPathFor(Tokenization.Tokenizer tokenizer) => System.IO.Path.Combine(Path, tokenizer.FileName);

    public string MetricsPath => System.IO.Path.Combine(Path, MetricsLog.FileName);

    public string CheckpointsPath => System.IO.Path.Combine(Path, CheckpointsDirectoryName);

    public CheckpointStore Checkpoints => new(CheckpointsPath);

    /// <summary>
    /// The directory for a new run of <paramref name="config"/>: its <c>out_dir</c> when set, which must be new or
    /// empty (a run there is continued with --resume, never overwritten), otherwise a new
    /// <c>&lt;runsRoot&gt;/&lt;name&gt;-&lt;local time&gt;</c>, suffixed <c>-2</c>, <c>-3</c>... if that exists. The directory is
    /// created; <see cref="CreatedNew"/> says whether it did not exist before.
    /// </summary>
    public static RunDirectory Create(TrainConfig config, string runsRoot = DefaultRunsRoot, DateTimeOffset? now = null)
    {
        if (config.OutDir.Length > 0)
        {
            var outDir = config.OutDir;
            if (File.Exists(outDir))
                throw new LlmTrainerException($"out_dir '{outDir}' is a file, not a directory; give a new directory for the run.");
            bool existed = Directory.Exists(outDir);
            if (existed && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new LlmTrainerException(File.Exists(System.IO.Path.Combine(outDir, ConfigFileName))
                    ? $"out_dir '{outDir}' already holds a run; continue it with 'llmtrain train --resume {outDir}', or give a new directory."
                    : $"out_dir '{outDir}' is not empty; give a new or empty directory for the run (llmtrain does not write over other files).");
            try
            {
                Directory.CreateDirectory(outDir);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new LlmTrainerException($"cannot create out_dir '{outDir}': {e.Message}", e);
            }
            return new RunDirectory(outDir) { CreatedNew = !existed };
        }

        var stamp = (now ?? DateTimeOffset.Now).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var baseName = $"{SafeName(config.Name)}-{stamp}";
        Directory.CreateDirectory(runsRoot);
        for (var attempt = 1; ; attempt++)
        {
            var path = System.IO.Path.Combine(runsRoot, attempt == 1 ? baseName : $"{baseName}-{attempt}");
            if (Directory.Exists(path))
                continue;
            Directory.CreateDirectory(path);
            return new RunDirectory(path) { CreatedNew = true };
        }
    }

    /// <summary>Whether <see cref="Create"/> made this directory (so a run that fails before its first checkpoint can remove it).</summary>
    public bool CreatedNew { get; private init; }

    /// <summary>
    /// Removes a directory this process created for a run that failed before training began (no metrics, no
    /// checkpoints), so such failures leave no stray run behind; any other directory stays.
    /// </summary>
    public void RemoveIfUnused()
    {
        if (!CreatedNew || Directory.Exists(CheckpointsPath) || File.Exists(MetricsPath)) return;
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: the error being reported matters more
        }
    }

    /// <summary>
    /// Rank 0's run directory as another rank of a data-parallel job sees it: that rank writes nothing there, and reads
    /// it only to resume (which needs a file system the ranks share).
    /// </summary>
    public static RunDirectory OfMaster(string path) => new(path);

    /// <summary>An existing run; throws when <paramref name="path"/> is not a run directory (no config.json).</summary>
    public static RunDirectory Open(string path)
    {
        if (!Directory.Exists(path))
            throw new LlmTrainerException($"run directory '{path}' does not exist; give a directory under {DefaultRunsRoot}/ made by 'llmtrain train'.");
        var run = new RunDirectory(path);
        if (!File.Exists(run.ConfigPath))
            throw new LlmTrainerException($"'{path}' is not a run directory: it has no {ConfigFileName}.");
        return run;
    }

    /// <summary>
    /// The most recently started run under <paramref name="runsRoot"/> (by the time its config.json was
    /// written) that satisfies <paramref name="where"/>; null when there is none.
    /// </summary>
    public static RunDirectory? FindNewest(string runsRoot = DefaultRunsRoot, Func<RunDirectory, bool>? where = null)
    {
        if (!Directory.Exists(runsRoot))
            return null;
        return Directory.EnumerateDirectories(runsRoot)
            .Select(path => new RunDirectory(path))
            .Where(run => File.Exists(run.ConfigPath))
            .Where(run => where?.Invoke(run) ?? true)
            .OrderByDescending(run => File.GetLastWriteTimeUtc(run.ConfigPath))
            .ThenByDescending(run => run.Name, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    /// <summary>A run name as a directory name: letters, digits, '.', '_' and '-'; anything else becomes '-'.</summary>
    public static string SafeName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name.Trim())
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        var safe = builder.ToString().Trim('.', '-');
        return safe.Length > 0 ? safe : "run";
    }

    public override string ToString() => Path;
}
