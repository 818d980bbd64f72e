namespace LlmTrainer.Data;

/// <summary>
/// A Parquet dataset on the Hugging Face hub that <c>llmtrain data download</c> knows by name: the repository and the
/// folder whose .parquet files make it, and the text column to prepare.
/// </summary>
/// <param name="Name">As given on the command line, e.g. <c>cosmopedia:stories</c>.</param>
/// <param name="TextField">The column <c>llmtrain prepare --text-field</c> reads.</param>
public sealed record HubDataset(string Name, string Repository, string Folder, string TextField)
{
    /// <summary>Cosmopedia's subsets (folders under data/).</summary>
    public static readonly IReadOnlyList<string> CosmopediaSubsets =
        ["auto_math_text", "khanacademy", "openstax", "stanford", "stories", "web_samples_v1", "web_samples_v2", "wikihow"];

    public const string Help =
        "tinystories, cosmopedia:SUBSET (auto_math_text, khanacademy, openstax, stanford, stories, web_samples_v1, web_samples_v2, wikihow), " +
        "starcoder:LANGUAGE (e.g. starcoder:python; a gated dataset: set HF_TOKEN), fineweb-edu-sample (the 10BT sample)";

    /// <summary>The dataset a name stands for, or null for tinystories (a plain text download); unknown names are errors.</summary>
    public static HubDataset? Parse(string name)
    {
        if (name == "tinystories")
            return null;
        if (name == "fineweb-edu-sample")
            return new(name, "HuggingFaceFW/fineweb-edu", "sample/10BT", "text");
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        string kind = colon < 0 ? name : name[..colon];
        string part = colon < 0 ? "" : name[(colon + 1)..];
        if (kind == "cosmopedia" && CosmopediaSubsets.Contains(part))
            return new(name, "HuggingFaceTB/cosmopedia", $"data/{part}", "text");
        if (kind == "starcoder" && part.Length > 0 && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '#'))
            return new(name, "bigcode/starcoderdata", part, "content");
        throw new LlmTrainerException($"Unknown dataset '{name}': use {Help}.");
    }

    /// <summary>The default directory for the files: data/raw/NAME with the subset as a folder.</summary>
    public string DefaultDirectory => Path.Combine(["data", "raw", .. Name.Split(':')]);
}
