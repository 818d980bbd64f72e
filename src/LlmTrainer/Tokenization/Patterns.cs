namespace LlmTrainer.Tokenization;

/// <summary>
/// Pre-tokenisation patterns, written in .NET regular-expression syntax. A text is cut into pieces
/// that match the pattern (and the gaps between matches) before BPE runs inside each piece, so no
/// token ever spans two pieces.
/// </summary>
public static class Patterns
{
    /// <summary>GPT-2's pattern (also Hugging Face's ByteLevel pre-tokenizer and tiktoken's <c>gpt2</c>/<c>r50k</c>).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// tiktoken's <c>cl100k_base</c> pattern. Its possessive quantifiers (<c>?+</c>, <c>++</c>), which .NET
    /// lacks, are written as the equivalent atomic groups <c>(?&gt;…)</c>.
    /// </summary>
    public const string Cl100k = @"'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)\p{L}+|\p{N}{1,3}| ?(?>[^\s\p{L}\p{N}]+)[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+";

    /// <summary>The same cl100k pattern as tiktoken and Hugging Face files spell it (possessive quantifiers).</summary>
    public const string Cl100kPossessive = @"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+";

    /// <summary>Maps a short name (<c>gpt2</c>, <c>cl100k</c>) to its pattern.</summary>
    public static string FromName(string name) => name.ToLowerInvariant() switch
    {
        "gpt2" => Gpt2,
        "cl100k" or "cl100k_base" => Cl100k,
        _ => throw new LlmTrainerException($"unknown pre-tokenisation pattern '{name}': use 'gpt2' or 'cl100k'"),
    };
}
