namespace LlmTrainer.Evaluation;

/// <summary>
/// How evaluation cuts a token stream into windows: window <c>i</c> reads the <c>T + 1</c> tokens from
/// <c>i·T</c>, feeds the first <c>T</c> and predicts the last <c>T</c> (inputs and targets shifted by one), so
/// consecutive windows overlap by one token and every token but the first is predicted exactly once. The last
/// window may be shorter. At most <c>maxTokens</c> tokens are predicted: a stream of <c>n</c> tokens yields
/// <c>min(n - 1, maxTokens)</c> targets in <c>⌈targets / T⌉</c> windows.
/// </summary>
public sealed class EvalWindows
{
    public EvalWindows(long streamTokens, int blockSize, long? maxTokens = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(streamTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (maxTokens is < 0)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "must not be negative");
        StreamTokens = streamTokens;
        BlockSize = blockSize;
        long targets = Math.Max(0, streamTokens - 1);
        Targets = maxTokens is long max ? Math.Min(targets, max) : targets;
        Count = (Targets + blockSize - 1) / blockSize;
    }

    public long StreamTokens { get; }

    /// <summary>T: the targets of every window but possibly the last.</summary>
    public int BlockSize { get; }

    /// <summary>Tokens predicted over all windows.</summary>
    public long Targets { get; }

    /// <summary>Number of windows.</summary>
    public long Count { get; }

    /// <summary>
    /// Window <paramref name="index"/>: its first token in the stream and its number of targets; it reads
    /// tokens [Start, Start + Length + 1), inputs [Start, Start + Length), targets [Start + 1, Start + Length + 1).
    /// </summary>
    public (long Start, int Length) this[long index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            long start = index * BlockSize;
            return (start, (int)Math.Min(BlockSize, Targets - start));
        }
    }
}
