namespace LlmTrainer.Data;

/// <summary>Input text formats the readers understand.</summary>
public enum DocumentFormat
{
    /// <summary>Decide per file from its extension, else from its first character.</summary>
    Auto,

    /// <summary>TinyStories text: documents separated by <c>&lt;|endoftext|&gt;</c> lines.</summary>
    Txt,

    /// <summary>A JSON array of objects, the text in one field (TinyStories shards: <c>story</c>).</summary>
    Json,

    /// <summary>JSON Lines: one object per line, the text in one field (Cosmopedia: <c>text</c>).</summary>
    Jsonl,

    /// <summary>Apache Parquet: the text in one string column (Cosmopedia: <c>text</c>, StarCoder: <c>content</c>).</summary>
    Parquet,
}

public static class DocumentFormats
{
    /// <summary>The line that separates documents in TinyStories text files.</summary>
    public const string TextSeparator = "<|endoftext|>";

    public static DocumentFormat Parse(string name) => name.ToLowerInvariant() switch
    {
        "auto" => DocumentFormat.Auto,
        "txt" or "text" => DocumentFormat.Txt,
        "json" => DocumentFormat.Json,
        "jsonl" or "ndjson" => DocumentFormat.Jsonl,
        "parquet" => DocumentFormat.Parquet,
        _ => throw new LlmTrainerException($"Unknown input format '{name}': use auto, txt, json, jsonl or parquet."),
    };

    public static string Name(this DocumentFormat format) => format.ToString().ToLowerInvariant();

    /// <summary>The field that holds the text when none is chosen: TinyStories JSON uses "story", JSON Lines and Parquet datasets "text".</summary>
    public static string DefaultTextField(this DocumentFormat format) => format == DocumentFormat.Json ? "story" : "text";

    /// <summary>The format an extension names (".gz" stripped first), or Auto when it names none.</summary>
    public static DocumentFormat FromFileName(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        string ext = Path.GetExtension(name).ToLowerInvariant();
        return ext switch
        {
            ".txt" => DocumentFormat.Txt,
            ".json" => DocumentFormat.Json,
            ".jsonl" or ".ndjson" or ".jsonlines" => DocumentFormat.Jsonl,
            ".parquet" => DocumentFormat.Parquet,
            _ => DocumentFormat.Auto,
        };
    }
}
