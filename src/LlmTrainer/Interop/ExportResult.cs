namespace LlmTrainer.Interop;

/// <summary>The files an export wrote (full paths) and their total size.</summary>
public sealed record ExportResult(IReadOnlyList<string> Files, long Bytes, TimeSpan Elapsed);
