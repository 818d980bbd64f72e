namespace LlmTrainer.Sampling;

/// <summary>What <see cref="TextGenerator.Generate"/> produced for one prompt.</summary>
/// <param name="Prompt">The prompt as given.</param>
/// <param name="PromptTokens">Tokens the model was given for it (after any cut).</param>
/// <param name="PromptTruncated">Whether the prompt was longer than the context and lost its beginning.</param>
/// <param name="Samples">The continuations, in order (beam search: best first).</param>
/// <param name="GeneratedTokens">Tokens generated over all samples, end-of-text tokens included.</param>
/// <param name="Elapsed">Time from the prompt's prefill to the last token.</param>
/// <param name="Seed">The sampling seed used (the one given, or the random one chosen).</param>
/// <param name="WindowSlides">Times the context filled up and generation continued from its last tokens.</param>
public sealed record GenerationResult(
    string Prompt,
    int PromptTokens,
    bool PromptTruncated,
    IReadOnlyList<GeneratedSample> Samples,
    int GeneratedTokens,
    TimeSpan Elapsed,
    long Seed,
    int WindowSlides)
{
    public double TokensPerSecond => Elapsed > TimeSpan.Zero ? GeneratedTokens / Elapsed.TotalSeconds : 0;
}
