namespace LlmTrainer.Evaluation;

/// <summary>
/// What an evaluation measured. <see cref="Bytes"/> is the UTF-8 length of the text the predicted tokens decode
/// to, special tokens included as their text (each <c>&lt;|endoftext|&gt;</c> that separates documents counts 13
/// bytes); the compressors are run over exactly those bytes, so every row of the comparison sees the same input.
/// </summary>
/// <param name="Source">What was evaluated, e.g. "val split of data/stories".</param>
/// <param name="Tokens">Tokens predicted.</param>
/// <param name="Windows">Forward windows (of at most block_size tokens) they were predicted in.</param>
/// <param name="BlockSize">The context length of the windows.</param>
/// <param name="Loss">Mean next-token cross entropy, in nats per token.</param>
/// <param name="Bytes">UTF-8 bytes of the predicted tokens.</param>
/// <param name="Gzip">gzip at its smallest setting over the same bytes.</param>
/// <param name="Brotli">Brotli at quality 11 over the same bytes.</param>
/// <param name="Elapsed">Wall time of the whole evaluation.</param>
public sealed record EvalResult(
    string Source,
    long Tokens,
    long Windows,
    int BlockSize,
    double Loss,
    long Bytes,
    CompressorResult Gzip,
    CompressorResult Brotli,
    TimeSpan Elapsed)
{
    public const string ModelCompressorName = "llmtrain model";

    /// <summary>For a mixture of experts, how its routers spread the evaluated tokens over the experts; null for a dense model.</summary>
    public Model.ExpertLoad? ExpertLoad { get; init; }

    /// <summary>exp(loss).</summary>
    public double Perplexity => Math.Exp(Loss);

    /// <summary>Total information in bits over the bytes: loss·tokens / ln 2 / bytes.</summary>
    public double BitsPerByte => Loss * Tokens / Math.Log(2) / Bytes;

    public double BytesPerToken => (double)Bytes / Tokens;

    /// <summary>The model as a compressor: an ideal entropy coder fed its predictions needs bits-per-byte / 8 of the original size.</summary>
    public CompressorResult Model => new(ModelCompressorName, Loss * Tokens / Math.Log(2) / 8, Bytes);

    /// <summary>The model, gzip and Brotli, in that order.</summary>
    public IReadOnlyList<CompressorResult> Compressors => [Model, Gzip, Brotli];

    public double TokensPerSecond => Tokens / Elapsed.TotalSeconds;
}
