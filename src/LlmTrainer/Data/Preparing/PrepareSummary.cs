namespace LlmTrainer.Data;

/// <summary>What a <see cref="PrepareJob"/> produced.</summary>
/// <param name="TokenizerTrained">True when the tokenizer was trained on the input rather than loaded.</param>
/// <param name="InputBytes">Size of the input files on disk.</param>
/// <param name="DocumentsRead">Documents read, duplicates included.</param>
/// <param name="InvalidUtf8Replaced">Invalid UTF-8 sequences in the input, each replaced with U+FFFD.</param>
/// <param name="Elapsed">The whole job, tokenizer training included.</param>
/// <param name="EncodeElapsed">The encoding pass alone.</param>
/// <param name="ValFromFiles">True when val holds the documents of the val inputs rather than a hash split.</param>
public sealed record PrepareSummary(
    string OutputDirectory,
    string TokenizerFile,
    string TokenizerHash,
    bool TokenizerTrained,
    int VocabSize,
    TokenDType DType,
    long InputBytes,
    long DocumentsRead,
    long DuplicatesRemoved,
    long SkippedRecords,
    long InvalidUtf8Replaced,
    SplitSummary Train,
    SplitSummary Val,
    TimeSpan Elapsed,
    TimeSpan EncodeElapsed,
    bool ValFromFiles = false)
{
    /// <summary>Input throughput of the encoding pass.</summary>
    public double MegabytesPerSecond => EncodeElapsed.TotalSeconds > 0 ? InputBytes / 1e6 / EncodeElapsed.TotalSeconds : 0;
}

public sealed record SplitSummary(long Documents, long Tokens, int Shards);
