using LlmTrainer.Data;

namespace LlmTrainer.Evaluation;

/// <summary>
/// A sequence of token ids that evaluation walks window by window: one split of a prepared dataset (read from its
/// memory-mapped shards) or tokens held in memory. It does not own the dataset it reads.
/// </summary>
public sealed class TokenStream
{
    private readonly TokenDataset? dataset;
    private readonly int[]? tokens;

    private TokenStream(string name, TokenDataset? dataset, int[]? tokens)
    {
        Name = name;
        this.dataset = dataset;
        this.tokens = tokens;
        Length = dataset?.TokenCount ?? tokens!.Length;
    }

    /// <summary>Where the tokens come from, for messages.</summary>
    public string Name { get; }

    public long Length { get; }

    public static TokenStream Of(TokenDataset dataset) => new($"{dataset.Name} ({dataset.Split})", dataset, null);

    public static TokenStream Of(int[] tokens, string name) => new(name, null, tokens);

    /// <summary>Copies the tokens at [<paramref name="start"/>, start + destination.Length).</summary>
    public void CopyTo(long start, Span<int> destination)
    {
        if (dataset is not null)
        {
            dataset.CopyTo(start, destination);
            return;
        }
        if (start < 0 || start + destination.Length > Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"Tokens [{start}, {start + destination.Length}) lie outside {Name} ({Length} tokens).");
        tokens.AsSpan((int)start, destination.Length).CopyTo(destination);
    }
}
