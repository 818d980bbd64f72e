namespace LlmTrainer.Sampling;

/// <summary>
/// How <see cref="TextGenerator"/> continues a prompt.
/// <para>Sampling (<see cref="Beams"/> = 1): the logits are processed in the order repetition penalty → temperature →
/// top-k → top-p, then a token is drawn; temperature 0 takes the most likely token (greedy) and ignores top-k/top-p.</para>
/// <para>Beam search (<see cref="Beams"/> &gt; 1) is a deterministic search for the most likely continuation: temperature
/// and the seed do not apply to it, and top-k/top-p are errors. The repetition penalty applies to each beam's own
/// tokens. The <see cref="NumSamples"/> best hypotheses are returned (at most <see cref="Beams"/>).</para>
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Tokens to generate at most per sample (the end-of-text token or a stop string ends a sample earlier).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Logits are divided by it before sampling; 0 = greedy (always the most likely token).</summary>
    public double Temperature { get; init; } = 0.8;

    /// <summary>Sample only among the k most likely tokens; null = all.</summary>
    public int? TopK { get; init; }

    /// <summary>Nucleus sampling: only the smallest set of most likely tokens whose probabilities add up to at least p (always at least one); null = all.</summary>
    public double? TopP { get; init; }

    /// <summary>
    /// CTRL's penalty (as Hugging Face's): the logit of every token already in the prompt or the generated text is divided
    /// by it when positive and multiplied by it otherwise; 1 = off.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Beam width; 1 = sampling (or greedy at temperature 0).</summary>
    public int Beams { get; init; } = 1;

    /// <summary>Beam search ranks a hypothesis by Σ log p / length^α (Hugging Face's length_penalty α); α &gt; 0 favours longer ones.</summary>
    public double LengthPenalty { get; init; } = 1.0;

    /// <summary>Samples per prompt, generated together as one batch (beam search: the best hypotheses).</summary>
    public int NumSamples { get; init; } = 1;

    /// <summary>Seed of the sampling generator: the same seed gives the same output. Null = a random seed (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// Whether a prompt starts with the tokenizer's document-start token (<c>&lt;|endoftext|&gt;</c>, or <c>&lt;s&gt;</c> for
    /// SentencePiece), as every training document does; false encodes the prompt alone. An empty prompt is always that token.
    /// </summary>
    public bool PrependBos { get; init; } = true;

    /// <summary>A sample ends where one of these strings first appears; the string itself is not part of the output.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// Throws <see cref="LlmTrainerException"/> naming the first option whose value cannot work. Options are named by
    /// their snake_case keys (top_p…) unless <paramref name="name"/> says how the caller calls them (a CLI: --top-p).
    /// </summary>
    /// <summary>Most beams a search may keep: they all decode together.</summary>
    public const int MaxBeams = 64;

    public void Validate(Func<string, string>? name = null)
    {
        string N(string key) => name?.Invoke(key) ?? key;
        if (MaxNewTokens < 1) throw Bad($"{N("max_new_tokens")} must be at least 1; got {MaxNewTokens}.");
        if (!double.IsFinite(Temperature) || Temperature < 0) throw Bad($"{N("temperature")} must be 0 (greedy) or more; got {Temperature}.");
        if (TopK is { } k && k < 1) throw Bad($"{N("top_k")} must be at least 1; got {k}.");
        if (TopP is { } p && !(p > 0 && p <= 1)) throw Bad($"{N("top_p")} must be in (0, 1]; got {p}.");
        if (!double.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0)
            throw Bad($"{N("repetition_penalty")} must be positive (1 = off, 1.1–1.3 is typical); got {RepetitionPenalty}.");
        if (Beams < 1) throw Bad($"{N("beams")} must be at least 1; got {Beams}.");
        // Every beam is a row of the KV cache for the whole search; samples, in contrast, run in batches.
        if (Beams > MaxBeams) throw Bad($"{N("beams")} must be at most {MaxBeams} (each beam holds its own KV cache); got {Beams}.");
        if (!double.IsFinite(LengthPenalty)) throw Bad($"{N("length_penalty")} must be a finite number; got {LengthPenalty}.");
        if (NumSamples < 1) throw Bad($"{N("num_samples")} must be at least 1; got {NumSamples}.");
        if (Beams > 1 && (TopK is not null || TopP is not null))
            throw Bad($"{N("top_k")} and {N("top_p")} apply to sampling, not to beam search ({N("beams")} > 1), which is deterministic; drop them or use {N("beams")} 1.");
        if (Beams > 1 && NumSamples > Beams)
            throw Bad($"beam search returns at most {N("beams")} ({Beams}) hypotheses, but {N("num_samples")} is {NumSamples}; raise {N("beams")} or lower {N("num_samples")}.");
        if (Stop.Any(string.IsNullOrEmpty)) throw Bad($"a {N("stop")} string is empty; give non-empty stop strings.");
    }

    private static LlmTrainerException Bad(string message) => new(message);
}
