namespace LlmTrainer.Data;

/// <summary>What <see cref="PrepareJob"/> turns into token shards, and how.</summary>
/// <param name="Inputs">Files, directories or globs.</param>
/// <param name="OutputDirectory">Where the shards, meta.json and tokenizer.json go; must not exist or be empty.</param>
/// <param name="TokenizerPath">An existing tokenizer; without it one is trained on the input with <paramref name="VocabSize"/>.</param>
/// <param name="VocabSize">Vocabulary size of the tokenizer to train.</param>
/// <param name="Read">Input format, text field and bad-record handling.</param>
/// <param name="ValFraction">Share of documents for validation, chosen by document hash; 0 makes no val split.</param>
/// <param name="Dedup">Drop documents whose normalised text was seen before.</param>
/// <param name="ShardTokens">Tokens per shard file.</param>
/// <param name="Threads">Encoding threads; 0 uses every core.</param>
/// <param name="ValInputs">Files, directories or globs whose documents make the val split, instead of a hash split of <paramref name="Inputs"/>.</param>
public sealed record PrepareOptions(
    IReadOnlyList<string> Inputs,
    string OutputDirectory,
    string? TokenizerPath = null,
    int? VocabSize = null,
    ReadOptions? Read = null,
    double ValFraction = PrepareOptions.DefaultValFraction,
    bool Dedup = false,
    long ShardTokens = PrepareOptions.DefaultShardTokens,
    int Threads = 0,
    IReadOnlyList<string>? ValInputs = null)
{
    public const double DefaultValFraction = 0.005;
    public const long DefaultShardTokens = 100_000_000;
}
