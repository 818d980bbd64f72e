using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Model;

/// <summary>
/// Mixtral's sparse mixture-of-experts MLP (Hugging Face's MixtralSparseMoeBlock, named "block_sparse_moe"): a
/// bias-free router ("gate", d_model → n_experts), a softmax over the experts in float32, the top experts_per_token of
/// them per token with their weights renormalised to sum to 1, and each expert a SwiGLU w2(silu(w1(x)) · w3(x)).
/// Tokens are dispatched, not computed densely: the (token, expert) assignments are sorted by expert, each expert runs
/// on its own tokens only, and the weighted outputs are scatter-added back to their tokens. Splitting the tokens by
/// expert needs each expert's token count on the host: one read of n_experts integers per layer in the forward (on a
/// GPU it waits for the router, as Hugging Face's Mixtral does); nothing else in a step waits for the device.
/// </summary>
internal sealed class SparseMoe : nn.Module
{
    private readonly nn.Linear gate;
    private readonly nn.ModuleList<Expert> experts;
    private readonly int nExperts, topK, layer;
    private readonly double capacityFactor;
    private readonly ExpertCounts counts;

    public SparseMoe(LlamaConfig c, int layer, ExpertCounts counts)
    {
        (nExperts, topK, capacityFactor, this.layer, this.counts) = (c.NExperts, c.ExpertsPerToken, c.MoeCapacityFactor, layer, counts);
        gate = register_module("gate", new nn.Linear(c.DModel, c.NExperts, hasBias: false));
        experts = register_module("experts", new nn.ModuleList<Expert>(Enumerable.Range(0, c.NExperts).Select(_ => new Expert(c))));
    }

    /// <summary>
    /// The mixture's output for x (B, T, d_model). With <paramref name="router"/>, this layer's load-balancing and z
    /// losses are added to it (they need autograd only in training).
    /// </summary>
    public Tensor forward(Tensor x, RouterLosses? router)
    {
        long d = x.size(-1);
        var flat = x.reshape(-1, d);                                   // (N, d)
        long n = flat.size(0);
        var logits = gate.forward(flat);                               // (N, E)
        var probs = logits.softmax(-1, ScalarType.Float32);
        // Top-k by a stable sort: among equal probabilities the lower expert index wins, on every libtorch and device
        // (torch.topk leaves ties unspecified).
        var (sorted, order) = probs.sort(-1, descending: true, stable: true);
        var weights = sorted.narrow(1, 0, topK);
        weights = weights / weights.sum(-1, keepdim: true);           // renormalised over the chosen experts (Mixtral)
        var chosen = order.narrow(1, 0, topK).reshape(-1);             // (N·k) expert of each assignment, token-major

        // Group the assignments by expert; within an expert they stay in token order (first come, first served).
        var (_, byExpert) = chosen.sort(-1, descending: false, stable: true);
        var routed = chosen.bincount(minlength: nExperts);
        var perExpert = routed.ToArray<long>(); // the split sizes must be known on the host (waits for a GPU)
        var tokens = byExpert.floor_divide(topK);
        var inputs = flat.index_select(0, tokens);
        var gates = weights.reshape(-1).index_select(0, byExpert).unsqueeze(1);

        long capacity = training && capacityFactor > 0 ? (long)Math.Ceiling(capacityFactor * n * topK / nExperts) : long.MaxValue;
        bool dropping = perExpert.Any(count => count > capacity);
        var outputs = new Tensor[nExperts];
        var kept = dropping ? new Tensor[nExperts] : null;
        long offset = 0, dropped = 0;
        for (int e = 0; e < nExperts; e++)
        {
            long take = Math.Min(perExpert[e], capacity);
            // Every expert runs, on no tokens if none came: its gradient is then zero rather than missing.
            outputs[e] = experts[e].forward(inputs.narrow(0, offset, take)) * gates.narrow(0, offset, take);
            if (kept is not null) kept[e] = tokens.narrow(0, offset, take);
            dropped += perExpert[e] - take;
            offset += perExpert[e];
        }
        var combined = torch.cat(outputs, 0);
        var y = torch.zeros([n, d], combined.dtype, x.device).index_add_(0, kept is null ? tokens : torch.cat(kept, 0), combined);
        counts.Add(layer, perExpert, dropped);

        if (router is not null)
        {
            // Switch Transformer's load balancing: n_experts · Σᵢ fᵢ·Pᵢ, fᵢ the share of the N·k assignments routed to
            // expert i (before any dropping), Pᵢ its mean router probability; 1 when perfectly balanced.
            var f = routed.to(ScalarType.Float32) / (double)(n * topK);
            var aux = (f * probs.mean(dim: 0)).sum() * nExperts;
            // ST-MoE's router z-loss: the mean squared log-partition of the router logits.
            var z = logits.to(ScalarType.Float32).logsumexp(-1).square().mean();
            router.Add(aux, z);
        }
        return y.view(x.shape);
    }

    /// <summary>One expert: a SwiGLU MLP under Mixtral's names, w2(silu(w1(x)) · w3(x)) (w1 gate, w3 up, w2 down).</summary>
    private sealed class Expert : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Linear w1, w2, w3;

        public Expert(LlamaConfig c)
        {
            w1 = register_module("w1", new nn.Linear(c.DModel, c.FfnHidden, hasBias: false));
            w2 = register_module("w2", new nn.Linear(c.FfnHidden, c.DModel, hasBias: false));
            w3 = register_module("w3", new nn.Linear(c.DModel, c.FfnHidden, hasBias: false));
        }

        public override Tensor forward(Tensor x) => w2.forward(F.swiglu(w1.forward(x), w3.forward(x)));
    }
}
