namespace LlmTrainer.Data;

/// <summary>A resolved input file.</summary>
/// <param name="Format">The format it will be read as (never Auto).</param>
/// <param name="Bytes">Size on disk; compressed size for gzip files.</param>
public sealed record InputFile(string Path, DocumentFormat Format, bool Gzip, long Bytes);
