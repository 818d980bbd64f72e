namespace LlmTrainer.Model;

/// <summary>
/// How a mixture-of-experts model spread its tokens: for each MoE layer, the (token, expert) assignments its router sent
/// to each expert, and the assignments dropped because an expert was full (only with a capacity factor, in training).
/// <see cref="Llama.expert_load"/> gives the counts since the model was built; <see cref="Since"/> those of a stretch.
/// </summary>
/// <param name="Routed">Assignments per layer and expert, before dropping: each token counts once per chosen expert.</param>
/// <param name="Dropped">Assignments that skipped their expert for lack of capacity, over all layers.</param>
public sealed record ExpertLoad(long[][] Routed, long Dropped)
{
    /// <summary>The counts between an earlier snapshot and this one.</summary>
    public ExpertLoad Since(ExpertLoad earlier) =>
        new(Routed.Select((r, l) => r.Select((count, e) => count - earlier.Routed[l][e]).ToArray()).ToArray(), Dropped - earlier.Dropped);

    /// <summary>These counts and another's together.</summary>
    public ExpertLoad Plus(ExpertLoad other) =>
        new(Routed.Select((r, l) => r.Select((count, e) => count + other.Routed[l][e]).ToArray()).ToArray(), Dropped + other.Dropped);

    /// <summary>All assignments counted, over all layers.</summary>
    public long Total => Routed.Sum(r => r.Sum());

    /// <summary>Each expert's share of its layer's assignments (a row sums to 1; zeros before any token).</summary>
    public double[][] Shares => Routed.Select(r =>
    {
        double total = r.Sum();
        return r.Select(count => total > 0 ? count / total : 0).ToArray();
    }).ToArray();

    /// <summary>
    /// The busiest expert's load over the mean load, in the least balanced layer: 1 when every expert gets the same
    /// number of tokens, n_experts / experts_per_token when the router always picks the same experts. Null before any token.
    /// </summary>
    public double? Balance
    {
        get
        {
            var layers = Routed.Where(r => r.Sum() > 0).ToList();
            if (layers.Count == 0) return null;
            return layers.Max(r => r.Max() / r.Average());
        }
    }

    /// <summary>The share of assignments dropped for capacity.</summary>
    public double DroppedFraction => Total > 0 ? (double)Dropped / Total : 0;
}
