using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Model;

/// <summary>
/// A LLaMA decoder, read top to bottom like model.py:
/// token embedding → N × [RMSNorm → causal self-attention with RoPE → residual → RMSNorm → SwiGLU MLP → residual]
/// → RMSNorm → LM head. No biases. Parameter names follow Hugging Face's LlamaForCausalLM, so a checkpoint exports
/// to that format by copying tensors. With n_experts ≥ 2 each MLP is Mixtral's sparse mixture of experts
/// (<see cref="SparseMoe"/>, named as in MixtralForCausalLM).
/// For sampling, <see cref="setup_cache"/> gives every attention layer a KV cache and <see cref="forward(Tensor, int?, bool, RouterLosses?)"/>
/// runs positions startPos.. against it; <see cref="forward(Tensor)"/> (training) never touches the cache.
/// <see cref="forward_backward"/> (Llama.Checkpointing.cs) trains with activation checkpointing.
/// With doc_mask, attention stays inside each document of the packed sequence (a boolean (B, 1, T, S) mask broadcast
/// over heads), which also makes rotary positions count from each document's start (RoPE is relative); the KV cache
/// remembers every cached position's document.
/// </summary>
public sealed partial class Llama : nn.Module<Tensor, Tensor>
{
    public LlamaConfig Config { get; }

    private readonly LlamaModel model;
    private readonly nn.Linear? lm_head;
    private readonly ExpertCounts? expertCounts;

    public Llama(LlamaConfig config, Device? device = null)
    {
        config.Validate();
        Config = config;
        if (config.IsMoe) expertCounts = new ExpertCounts(config.NLayer, config.NExperts);
        model = register_module("model", new LlamaModel(config, expertCounts));
        if (!config.TieEmbeddings)
            lm_head = register_module("lm_head", new nn.Linear(config.DModel, config.VocabSize, hasBias: false));
        InitWeights();
        if (device is { } d && d != Device.CPU) to(d);
    }

    /// <summary>normal(0, 0.02) everywhere; the projections back into the residual stream scaled by 1/√(2·n_layer) (GPT-2).</summary>
    private void InitWeights()
    {
        double std = 0.02, residualStd = 0.02 / Math.Sqrt(2.0 * Config.NLayer);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
                nn.init.ones_(p);
            else if (name.EndsWith("o_proj.weight", StringComparison.Ordinal) || name.EndsWith("down_proj.weight", StringComparison.Ordinal)
                     || name.EndsWith("w2.weight", StringComparison.Ordinal))
                nn.init.normal_(p, 0, residualStd);
            else
                nn.init.normal_(p, 0, std);
        }
    }

    /// <summary>Logits (B, T, vocab) for token ids (B, T).</summary>
    public override Tensor forward(Tensor idx) => forward(idx, null);

    /// <summary>
    /// Logits for token ids (B, T) at positions startPos..startPos+T-1. With a <paramref name="startPos"/>, for inference
    /// (no_grad or inference_mode), the new positions attend causally to the KV cache's positions
    /// 0..startPos+T-1, whose keys and values for the new positions are written first: this needs
    /// <see cref="setup_cache"/> for B rows, and startPos+T must not exceed block_size. With a null startPos it is the
    /// plain forward over positions 0..T-1 without the cache. With <paramref name="lastOnly"/> only the last
    /// position's logits are computed: (B, 1, vocab). MoE layers add their router losses to <paramref name="router"/> when given.
    /// </summary>
    public Tensor forward(Tensor idx, int? startPos, bool lastOnly = false, RouterLosses? router = null)
    {
        if (startPos is { } pos)
        {
            if (!model.HasCache)
                throw new InvalidOperationException("forward(idx, startPos) needs a KV cache: call setup_cache(batchSize) first");
            if (pos < 0 || pos + idx.size(1) > Config.BlockSize)
                throw new ArgumentOutOfRangeException(nameof(startPos), pos,
                    $"positions {pos}..{pos + idx.size(1) - 1} do not fit the context of {Config.BlockSize} (block_size)");
        }
        var h = model.forward(idx, startPos, router);
        if (lastOnly) h = h.narrow(1, h.size(1) - 1, 1);
        return head(h);
    }

    /// <summary>The LM head: logits from the final hidden states (the embedding matrix when tied).</summary>
    private Tensor head(Tensor h) => lm_head is null ? F.linear(h, model.embed_tokens.weight) : lm_head.forward(h);

    /// <summary>
    /// Gives every attention layer a KV cache of (batchSize, n_kv_head, block_size, head_dim) on the model's device, in
    /// <paramref name="dtype"/> (default: the weights' dtype; pass the autocast dtype when sampling under autocast).
    /// Replaces a cache set up before. Create it under the same grad mode (inference_mode or not) that uses it.
    /// </summary>
    public void setup_cache(int batchSize, ScalarType? dtype = null)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        var w = model.embed_tokens.weight;
        model.setup_cache(batchSize, dtype ?? w.dtype, w.device);
    }

    /// <summary>Frees the KV caches; forward(idx, startPos) needs a new <see cref="setup_cache"/> after this.</summary>
    public void clear_cache() => model.clear_cache();

    /// <summary>Rows of the KV cache, or 0 when there is none.</summary>
    public long CacheBatchSize => model.CacheBatchSize;

    /// <summary>Row i of every layer's cache becomes the former row index[i] (an int64 tensor of batch size), as beam search needs.</summary>
    public void reorder_cache(Tensor index)
    {
        if (!model.HasCache) throw new InvalidOperationException("reorder_cache needs a KV cache: call setup_cache(batchSize) first");
        model.reorder_cache(index);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) model.clear_cache();
        base.Dispose(disposing);
    }

    /// <summary>
    /// Mean next-token cross entropy of logits for idx against targets (both (B, T)): the language-model loss alone.
    /// With <paramref name="router"/>, a mixture of experts adds its router losses of the same forward there (they
    /// stay out of this loss, so that dense and MoE losses compare).
    /// </summary>
    public Tensor loss(Tensor idx, Tensor targets, RouterLosses? router = null)
    {
        using var scope = torch.NewDisposeScope();
        var loss = cross_entropy(forward(idx, null, router: router), targets);
        router?.MoveToOuterDisposeScope();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The assignments each MoE layer's router sent to each expert (and those dropped for capacity) since the model was
    /// built; null for a dense model. Snapshots subtract (<see cref="ExpertLoad.Since"/>) to measure a stretch.
    /// </summary>
    public ExpertLoad? expert_load() => expertCounts?.Snapshot();

    private Tensor cross_entropy(Tensor logits, Tensor targets) => F.cross_entropy(logits.view(-1, Config.VocabSize), targets.view(-1));

    /// <summary>The decoder stack without the LM head (HF's LlamaModel, named "model").</summary>
    private sealed class LlamaModel : nn.Module<Tensor, Tensor>
    {
        public readonly nn.Embedding embed_tokens;
        public readonly nn.ModuleList<DecoderLayer> layers;
        public readonly nn.RMSNorm norm;
        public readonly Rope rope;
        public readonly nn.Dropout dropout;
        private readonly LlamaConfig config;

        /// <summary>Each cached position's document and document start, (B, block_size) int64; with doc_mask while sampling.</summary>
        private DocumentCache? documentCache;

        public LlamaModel(LlamaConfig c, ExpertCounts? counts)
        {
            config = c;
            embed_tokens = register_module("embed_tokens", new nn.Embedding(c.VocabSize, c.DModel));
            layers = register_module("layers", new nn.ModuleList<DecoderLayer>(Enumerable.Range(0, c.NLayer).Select(i => new DecoderLayer(c, i, counts))));
            norm = register_module("norm", new nn.RMSNorm(c.DModel, c.NormEps));
            rope = new Rope(c.HeadDim, c.BlockSize, c.RopeTheta);
            register_buffer("rope_cos", rope.Cos);
            register_buffer("rope_sin", rope.Sin);
            dropout = register_module("dropout", new nn.Dropout(c.Dropout));
        }

        public override Tensor forward(Tensor idx) => forward(idx, null);

        /// <summary>
        /// Without <paramref name="startPos"/>: positions 0..T-1, no cache (training). With it: positions startPos.. through
        /// the KV cache. MoE layers add their router losses to <paramref name="router"/> when given.
        /// </summary>
        public Tensor forward(Tensor idx, int? startPos, RouterLosses? router = null)
        {
            long t = idx.size(1);
            var x = embed(idx);
            var (cos, sin) = rope.Slice(startPos ?? 0, t);
            var mask = config.DocMask ? document_mask(idx, startPos) : null;
            foreach (var layer in layers)
                x = layer.forward(x, cos, sin, startPos, router, mask);
            return norm.forward(x);
        }

        /// <summary>The document mask of ids at positions startPos.. (their documents recorded in the cache when sampling).</summary>
        public Tensor document_mask(Tensor idx, int? startPos)
        {
            long pos = startPos ?? 0, t = idx.size(1);
            var previous = startPos is not null && pos > 0 ? documentCache!.Document.narrow(1, pos - 1, 1) : null;
            var document = DocumentLayout.Of(idx, config.DocumentSeparator, previous);
            var keys = document;
            if (startPos is not null)
            {
                documentCache!.Document.narrow(1, pos, t).copy_(document);
                keys = documentCache.Document.narrow(1, 0, pos + t);
            }
            return DocumentLayout.Mask(document, keys, pos);
        }

        /// <summary>Token embeddings, with dropout in training.</summary>
        public Tensor embed(Tensor idx) => dropout.forward(embed_tokens.forward(idx));

        public bool HasCache => layers[0].self_attn.kv_cache is not null;

        public long CacheBatchSize => layers[0].self_attn.kv_cache?.BatchSize ?? 0;

        public void setup_cache(int batchSize, ScalarType dtype, Device device)
        {
            clear_cache();
            foreach (var layer in layers)
                layer.self_attn.kv_cache = new KvCache(batchSize, layer.self_attn.nKvHead, rope.Cos.size(0), layer.self_attn.headDim, dtype, device);
            if (config.DocMask)
                documentCache = new DocumentCache(batchSize, rope.Cos.size(0), device);
        }

        public void clear_cache()
        {
            foreach (var layer in layers)
            {
                layer.self_attn.kv_cache?.Dispose();
                layer.self_attn.kv_cache = null;
            }
            documentCache?.Dispose();
            documentCache = null;
        }

        public void reorder_cache(Tensor index)
        {
            foreach (var layer in layers)
                layer.self_attn.kv_cache!.reorder(index);
            documentCache?.reorder(index);
        }
    }

    private sealed class DecoderLayer : nn.Module
    {
        private readonly nn.RMSNorm input_layernorm, post_attention_layernorm;
        public readonly Attention self_attn;
        private readonly Mlp? mlp;
        private readonly SparseMoe? block_sparse_moe;

        public DecoderLayer(LlamaConfig c, int index, ExpertCounts? counts)
        {
            self_attn = register_module("self_attn", new Attention(c));
            if (c.IsMoe)
                block_sparse_moe = register_module("block_sparse_moe", new SparseMoe(c, index, counts!));
            else
                mlp = register_module("mlp", new Mlp(c));
            input_layernorm = register_module("input_layernorm", new nn.RMSNorm(c.DModel, c.NormEps));
            post_attention_layernorm = register_module("post_attention_layernorm", new nn.RMSNorm(c.DModel, c.NormEps));
        }

        public Tensor forward(Tensor x, Tensor cos, Tensor sin, int? startPos, RouterLosses? router = null, Tensor? mask = null)
        {
            var h = x + self_attn.forward(input_layernorm.forward(x), cos, sin, startPos, mask);
            var n = post_attention_layernorm.forward(h);
            return h + (block_sparse_moe is not null ? block_sparse_moe.forward(n, router) : mlp!.forward(n));
        }
    }

    private sealed class Attention : nn.Module
    {
        private readonly nn.Linear q_proj, k_proj, v_proj, o_proj;
        private readonly nn.Dropout resid_dropout;
        public readonly int nHead, nKvHead, headDim;
        private readonly double dropout;

        /// <summary>Keys and values of earlier positions while sampling; null in training.</summary>
        public KvCache? kv_cache;

        public Attention(LlamaConfig c)
        {
            (nHead, nKvHead, headDim, dropout) = (c.NHead, c.NKvHead, c.HeadDim, c.Dropout);
            q_proj = register_module("q_proj", new nn.Linear(c.DModel, c.NHead * c.HeadDim, hasBias: false));
            k_proj = register_module("k_proj", new nn.Linear(c.DModel, c.NKvHead * c.HeadDim, hasBias: false));
            v_proj = register_module("v_proj", new nn.Linear(c.DModel, c.NKvHead * c.HeadDim, hasBias: false));
            o_proj = register_module("o_proj", new nn.Linear(c.NHead * c.HeadDim, c.DModel, hasBias: false));
            resid_dropout = register_module("resid_dropout", new nn.Dropout(c.Dropout));
        }

        /// <param name="mask">With doc_mask: which keys each query may attend to, (B, 1, T, S), causality included.</param>
        public Tensor forward(Tensor x, Tensor cos, Tensor sin, int? startPos, Tensor? mask = null)
        {
            long b = x.size(0), t = x.size(1);
            // (B, T, H·D) → (B, H, T, D)
            var q = q_proj.forward(x).view(b, t, nHead, headDim).transpose(1, 2);
            var k = k_proj.forward(x).view(b, t, nKvHead, headDim).transpose(1, 2);
            var v = v_proj.forward(x).view(b, t, nKvHead, headDim).transpose(1, 2);
            q = F.apply_rotary_emb(q, cos, sin);
            k = F.apply_rotary_emb(k, cos, sin);
            Tensor y;
            if (startPos is not { } pos)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask: mask, dropout_p: training ? dropout : 0, is_causal: mask is null);
            else
            {
                // The new positions attend to every cached one before them and causally among themselves (with doc_mask,
                // within their documents: the mask says so).
                (k, v) = kv_cache!.update(pos, k, v);
                if (mask is null && t > 1 && pos > 0) mask = torch.ones([t, pos + t], ScalarType.Bool, x.device).tril(pos);
                y = F.scaled_dot_product_attention(q, k, v, attn_mask: mask, is_causal: mask is null && t > 1);
            }
            y = y.transpose(1, 2).contiguous().view(b, t, nHead * headDim);
            return resid_dropout.forward(o_proj.forward(y));
        }
    }

    /// <summary>SwiGLU: down(silu(gate(x)) · up(x)).</summary>
    private sealed class Mlp : nn.Module
    {
        private readonly nn.Linear gate_proj, up_proj, down_proj;

        public Mlp(LlamaConfig c)
        {
            gate_proj = register_module("gate_proj", new nn.Linear(c.DModel, c.FfnHidden, hasBias: false));
            up_proj = register_module("up_proj", new nn.Linear(c.DModel, c.FfnHidden, hasBias: false));
            down_proj = register_module("down_proj", new nn.Linear(c.FfnHidden, c.DModel, hasBias: false));
        }

        public Tensor forward(Tensor x) => down_proj.forward(F.swiglu(gate_proj.forward(x), up_proj.forward(x)));
    }
}
