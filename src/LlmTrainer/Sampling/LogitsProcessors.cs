using LlmTrainer.Torch;

namespace LlmTrainer.Sampling;

/// <summary>
/// The steps between a model's logits and the next token, as pure functions over (rows, vocab) tensors: each returns
/// a new tensor and leaves its input alone. Removed tokens get a logit of -∞.
/// </summary>
public static class LogitsProcessors
{
    /// <summary>Cumulative probabilities this close to p count as reaching it, so that float rounding does not decide the set.</summary>
    public const double TopPTolerance = 1e-6;

    /// <summary>logits / temperature (temperature &gt; 0; 0 means greedy, which takes <see cref="Greedy"/> instead).</summary>
    public static Tensor Temperature(Tensor logits, double temperature)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive here; 0 is greedy");
        return logits / temperature;
    }

    /// <summary>Keeps the <paramref name="k"/> largest logits of each row (and any tied with the k-th); k ≥ vocab keeps all.</summary>
    public static Tensor TopK(Tensor logits, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "top_k must be at least 1");
        if (k >= logits.size(-1)) return logits.clone();
        using var scope = torch.NewDisposeScope();
        var (values, _) = logits.topk(k, -1);
        var kth = values.narrow(-1, k - 1, 1);
        return logits.masked_fill(logits.lt(kth), double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Nucleus filtering: keeps, in each row, the smallest set of most likely tokens whose probabilities add up to at least
    /// <paramref name="p"/> — a token stays when the tokens ranked above it add up to less than p (within
    /// <see cref="TopPTolerance"/>) — so the most likely token always stays. Probabilities [0.5, 0.2, 0.15, 0.1, 0.05] keep
    /// 2 tokens for p = 0.7 (0.5 + 0.2 reaches it), 3 for p = 0.71 and for p = 0.85, all 5 for p = 1.
    /// </summary>
    public static Tensor TopP(Tensor logits, double p)
    {
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "top_p must be in (0, 1]");
        if (p >= 1) return logits.clone();
        using var scope = torch.NewDisposeScope();
        var (sorted, order) = logits.sort(-1, descending: true);
        var probs = sorted.softmax(-1, ScalarType.Float64);
        var before = probs.cumsum(-1) - probs; // mass ranked above each token; exactly 0 for the first
        var remove = before.ge(Math.Max(p - TopPTolerance, 1e-12));
        var filtered = sorted.masked_fill(remove, double.NegativeInfinity);
        return logits.scatter(-1, order, filtered).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// CTRL's repetition penalty (Keskar et al. 2019, as Hugging Face's RepetitionPenaltyLogitsProcessor): where
    /// <paramref name="seen"/> (a bool mask of the logits' shape) is true, a positive logit is divided by
    /// <paramref name="penalty"/> and any other multiplied by it; elsewhere logits are unchanged.
    /// </summary>
    public static Tensor RepetitionPenalty(Tensor logits, Tensor seen, double penalty)
    {
        if (!(penalty > 0)) throw new ArgumentOutOfRangeException(nameof(penalty), penalty, "repetition penalty must be positive");
        if (penalty == 1) return logits.clone();
        using var scope = torch.NewDisposeScope();
        var penalised = torch.where(logits.gt(0), logits / penalty, logits * penalty);
        return torch.where(seen, penalised, logits).MoveToOuterDisposeScope();
    }

    /// <summary>A bool mask (rows, vocab) that is true at every token id in <paramref name="tokens"/>, the same for every row.</summary>
    public static Tensor SeenMask(int rows, int vocab, IReadOnlyCollection<int> tokens, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var mask = torch.zeros([rows, vocab], ScalarType.Bool, device);
        var ids = tokens.Where(t => t >= 0 && t < vocab).Select(t => (long)t).Distinct().ToArray();
        if (ids.Length > 0)
        {
            var index = torch.tensor(ids, [1, ids.Length], device).expand(rows, ids.Length);
            mask.scatter_(1, index, torch.ones([rows, ids.Length], ScalarType.Bool, device));
        }
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>Marks one more token per row in a <see cref="SeenMask"/> (in place).</summary>
    public static void MarkSeen(Tensor seen, IReadOnlyList<long> tokens)
    {
        using var scope = torch.NewDisposeScope();
        var device = seen.device;
        var index = torch.tensor(tokens.ToArray(), [tokens.Count, 1], device);
        seen.scatter_(1, index, torch.ones([tokens.Count, 1], ScalarType.Bool, device));
    }

    /// <summary>The most likely token of each row.</summary>
    public static Tensor Greedy(Tensor logits) => logits.argmax(-1);
}
