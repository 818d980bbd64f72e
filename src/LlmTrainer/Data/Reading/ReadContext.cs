using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// The file being read and what to do with bad input in it: fail with the file and line, or (skip-bad)
/// count it and warn, quoting the first few so a flood of bad records does not drown the output.
/// </summary>
internal sealed class ReadContext(ReadOptions options, IProgressReporter progress)
{
    private const int WarningsShown = 20;

    public ReadOptions Options { get; } = options;

    public string File { get; set; } = "";

    public long SkippedRecords { get; private set; }

    /// <summary>Invalid UTF-8 sequences replaced with U+FFFD in the documents read.</summary>
    public long InvalidUtf8Sequences { get; set; }

    /// <summary>Reports a problem at <paramref name="line"/> (null: the file as a whole). Throws unless skip-bad is on.</summary>
    public void Bad(long? line, string problem)
    {
        string where = line is long l ? $"{File}:{l}" : File;
        if (!Options.SkipBad)
            throw new LlmTrainerException($"{where}: {problem}. Fix the input, or pass --skip-bad to skip bad records with a warning.");
        SkippedRecords++;
        if (SkippedRecords <= WarningsShown)
            progress.Warn($"{where}: {problem}; skipped.");
        if (SkippedRecords == WarningsShown)
            progress.Warn("further bad records are counted but not shown.");
    }
}
