namespace LlmTrainer.Data;

/// <param name="Format">Force one format for every file, or Auto to detect it per file.</param>
/// <param name="TextField">The JSON field holding the text; null picks "story" for JSON arrays and "text" for JSON Lines.</param>
/// <param name="SkipBad">Turn malformed records, missing fields, empty and unreadable files into counted warnings instead of errors.</param>
/// <param name="MaxDocumentBytes">Longest document (and JSON value) accepted; bounds memory on input that lacks separators.</param>
/// <param name="FilterField">Parquet only: keep only rows whose string column of this name equals <paramref name="FilterValue"/>.</param>
/// <param name="FilterValue">The value <paramref name="FilterField"/> must hold (a subset or a language).</param>
public sealed record ReadOptions(
    DocumentFormat Format = DocumentFormat.Auto,
    string? TextField = null,
    bool SkipBad = false,
    int MaxDocumentBytes = 64 << 20,
    string? FilterField = null,
    string? FilterValue = null)
{
    public static readonly ReadOptions Default = new();
}
