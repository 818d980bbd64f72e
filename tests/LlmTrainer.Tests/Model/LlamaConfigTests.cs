using LlmTrainer.Config;
using LlmTrainer.Model;

namespace LlmTrainer.Tests.Model;

/// <summary>The model-shape record: its parameter counts against built models, its checkpoint hash, its validation.</summary>
[Collection("torch")]
public sealed class LlamaConfigTests
{
    public static TheoryData<string> BuiltinNames() => new(BuiltinConfigs.Names);

    /// <summary>A built-in config; one that takes the tokenizer's vocabulary gets the built-in stories' 2048 tokens.</summary>
    private static TrainConfig Builtin(string name)
    {
        var config = ConfigLoader.Load([], new ConfigLoadOptions { Config = name, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;
        return config.VocabSize == 0 ? config with { VocabSize = 2048 } : config;
    }

    /// <summary>
    /// The count the config gives (printed at start, used for MFU and the FLOP estimate) is the built model's real one.
    /// Configs over 150M parameters are built with 2 layers and a 512-token vocabulary, their own width, heads, MLP and
    /// experts: the per-layer count is what differs between configs, the rest is the same formula at any size.
    /// </summary>
    [Theory]
    [MemberData(nameof(BuiltinNames))]
    public void The_parameter_count_of_every_built_in_config_is_the_built_model_s(string name)
    {
        var config = Builtin(name);
        if (config.ToModelConfig().TotalParameters > 150_000_000) config = config with { NLayer = 2, VocabSize = 512 };
        var shape = config.ToModelConfig();
        using var model = new Llama(shape);
        Assert.Equal(shape.TotalParameters, model.num_parameters());

        // Active: the total less the experts a token skips, counted from the model's own tensors.
        var parameters = model.named_parameters().ToList();
        long expert = parameters.Where(p => p.name.StartsWith("model.layers.0.block_sparse_moe.experts.0.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        long skipped = config.IsMoe ? (long)config.NLayer * (config.NExperts - config.ExpertsPerToken) * expert : 0;
        Assert.Equal(shape.ActiveParameters, model.num_parameters() - skipped);
        Assert.Equal(config.IsMoe, shape.IsMoe);
    }

    private static LlamaConfig Shape(string kind) => kind switch
    {
        "dense tied" => new LlamaConfig(50, 16, 2, 4, 4, 24, 8, TieEmbeddings: true),
        "gqa untied" => new LlamaConfig(50, 16, 3, 4, 2, 40, 8, TieEmbeddings: false),
        "mqa tied" => new LlamaConfig(50, 32, 2, 4, 1, 24, 8, TieEmbeddings: true),
        "moe gqa untied" => new LlamaConfig(50, 16, 2, 4, 2, 24, 8, TieEmbeddings: false, NExperts: 4, ExpertsPerToken: 2),
        "moe top-1 tied" => new LlamaConfig(50, 16, 2, 4, 4, 20, 8, TieEmbeddings: true, NExperts: 3, ExpertsPerToken: 1),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Each part the counts name is the element count of the built model's tensors of that part.</summary>
    [Theory]
    [InlineData("dense tied")]
    [InlineData("gqa untied")]
    [InlineData("mqa tied")]
    [InlineData("moe gqa untied")]
    [InlineData("moe top-1 tied")]
    public void Every_count_is_the_built_model_s_tensors(string kind)
    {
        var c = Shape(kind);
        using var model = new Llama(c);
        var sizes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.numel());
        long Sum(Func<string, bool> which) => sizes.Where(p => which(p.Key)).Sum(p => p.Value);

        Assert.Equal(c.TotalParameters, model.num_parameters());
        Assert.Equal(c.TotalParameters, sizes.Values.Sum());
        Assert.Equal(c.EmbeddingParameters, sizes["model.embed_tokens.weight"]);
        Assert.Equal(c.FinalNormParameters, sizes["model.norm.weight"]);
        Assert.Equal(c.LmHeadParameters, sizes.GetValueOrDefault("lm_head.weight"));
        Assert.Equal(c.TieEmbeddings, c.LmHeadParameters == 0);
        for (int i = 0; i < c.NLayer; i++)
        {
            var layer = $"model.layers.{i}.";
            Assert.Equal(c.LayerParameters, Sum(n => n.StartsWith(layer, StringComparison.Ordinal)));
            Assert.Equal(c.AttentionParametersPerLayer, Sum(n => n.StartsWith(layer + "self_attn.", StringComparison.Ordinal)));
            Assert.Equal(c.NormParametersPerLayer, Sum(n => n.StartsWith(layer, StringComparison.Ordinal) && n.EndsWith("layernorm.weight", StringComparison.Ordinal)));
            Assert.Equal(c.MlpParametersPerLayer, Sum(n => n.StartsWith(layer + (c.IsMoe ? "block_sparse_moe." : "mlp."), StringComparison.Ordinal)));
        }
        long expert = Sum(n => n.StartsWith("model.layers.0.block_sparse_moe.experts.0.", StringComparison.Ordinal));
        Assert.Equal(c.IsMoe ? c.ExpertParameters : 0, expert);
        Assert.Equal(model.num_parameters() - (c.IsMoe ? c.NLayer * (c.NExperts - c.ExpertsPerToken) * expert : 0), c.ActiveParameters);
    }

    [Fact]
    public void Counts_every_tensor_of_a_small_untied_gqa_model()
    {
        // vocab 10, d 8, 2 layers, 4 heads of dim 2, 2 kv heads, ffn 12.
        var shape = new LlamaConfig(VocabSize: 10, DModel: 8, NLayer: 2, NHead: 4, NKvHead: 2, FfnHidden: 12, BlockSize: 16, TieEmbeddings: false);
        long embed = 10 * 8, q = 8 * 8, k = 8 * 4, v = 8 * 4, o = 8 * 8, mlp = 3 * 8 * 12, norms = 2 * 8, final = 8, head = 10 * 8;
        Assert.Equal(q + k + v + o, shape.AttentionParametersPerLayer);
        Assert.Equal(embed + 2 * (q + k + v + o + mlp + norms) + final + head, shape.TotalParameters);
        Assert.Equal(shape.TotalParameters, shape.ActiveParameters);
        Assert.Equal(shape.TotalParameters - embed, shape.MatmulParameters);
    }

    private static readonly LlamaConfig Small = new(10, 8, 2, 4, 4, 12, 16, TieEmbeddings: true);

    [Fact]
    public void Tied_embeddings_are_counted_once_but_the_head_still_costs_flops()
    {
        var untied = Small with { TieEmbeddings = false };
        Assert.Equal(untied.TotalParameters - 80, Small.TotalParameters);
        Assert.Equal(untied.MatmulParameters, Small.MatmulParameters);
    }

    [Fact]
    public void Moe_adds_a_router_and_experts_but_activates_only_some()
    {
        var moe = Small with { NExperts = 4, ExpertsPerToken = 2 };
        long expert = 3 * 8 * 12, router = 8 * 4;
        Assert.Equal(Small.TotalParameters + 2 * (router + 3 * expert), moe.TotalParameters);
        Assert.Equal(Small.TotalParameters + 2 * (router + expert), moe.ActiveParameters);
        // The FLOP estimate (and so MFU) counts the parameters a token passes through, not the idle experts.
        Assert.Equal(Small.TrainingFlopsPerToken() + 6.0 * 2 * (router + expert), moe.TrainingFlopsPerToken());
    }

    [Fact]
    public void Training_flops_are_six_n_plus_attention()
    {
        var n = Small.MatmulParameters;
        Assert.Equal(6.0 * n + 12.0 * 2 * 8 * 16, Small.TrainingFlopsPerToken());
        Assert.Equal(6.0 * n + 12.0 * 2 * 8 * 4, Small.TrainingFlopsPerToken(contextLength: 4));
    }

    private static TrainConfig HashedConfig(string kind) => kind switch
    {
        "default" => new TrainConfig { VocabSize = 2048 },
        "gqa untied" => new TrainConfig { VocabSize = 300, DModel = 32, NLayer = 2, NHead = 4, NKvHead = 2, Dropout = 0.1, TieEmbeddings = false, NormEps = 1e-6, RopeTheta = 500000 },
        "moe" => new TrainConfig { VocabSize = 2048, NExperts = 4 },
        "moe top-1 capacity" => new TrainConfig { VocabSize = 512, DModel = 64, NLayer = 2, NHead = 4, NKvHead = 2, NExperts = 8, ExpertsPerToken = 1, MoeCapacityFactor = 1.25, TieEmbeddings = false },
        "doc_mask" => new TrainConfig { VocabSize = 2048, DocMask = true },
        "moe doc_mask" => new TrainConfig { VocabSize = 1000, NExperts = 3, DocMask = true, FfnHidden = 100 },
        _ => Builtin(kind),
    };

    /// <summary>
    /// Checkpoints store this hash and resume only where it matches: these are the hashes existing checkpoints were
    /// written with (dense ones since before the MoE and document-mask fields existed), so they must never change.
    /// </summary>
    [Theory]
    [InlineData("default", "1e2c5bb2bb5d1269")]
    [InlineData("gqa untied", "7de915a9895f18c4")]
    [InlineData("moe", "7cf07ca7c5a68c9c")]
    [InlineData("moe top-1 capacity", "4dd15aff1ead9139")]
    [InlineData("doc_mask", "6f35e3e2d86ef4dd")]
    [InlineData("moe doc_mask", "88c2b5e71ae2b3a7")]
    [InlineData("tiny", "764d90dd7b15f9fe")]
    [InlineData("15m", "077007aae91ab055")]
    [InlineData("1b", "6044a28bfd85eb62")]
    [InlineData("4x500m", "a0deee533e061a05")]
    [InlineData("moe-tiny", "e00524fd26d51c72")]
    public void Config_hashes_are_those_existing_checkpoints_were_written_with(string kind, string hash)
    {
        var model = HashedConfig(kind).ToModelConfig();
        Assert.Equal(hash, model.ConfigHash());
        // Only what the weights compute counts: not dropout, the capacity factor, or the separator id (the tokenizer's hash checks that).
        Assert.Equal(hash, (model with { Dropout = 0.2, MoeCapacityFactor = 2, DocumentSeparator = 5 }).ConfigHash());
        Assert.NotEqual(hash, (model with { DocMask = !model.DocMask }).ConfigHash());
        Assert.NotEqual(hash, (model with { NKvHead = 1 }).ConfigHash());
    }

    [Fact]
    public void Expert_count_and_routing_change_the_hash()
    {
        var moe = new TrainConfig { VocabSize = 2048, NExperts = 4 }.ToModelConfig();
        Assert.NotEqual((moe with { NExperts = 0 }).ConfigHash(), moe.ConfigHash());
        Assert.NotEqual((moe with { ExpertsPerToken = 1 }).ConfigHash(), moe.ConfigHash());
        // A dense model has no routing: experts_per_token is not part of it.
        var dense = moe with { NExperts = 0 };
        Assert.Equal(dense.ConfigHash(), (dense with { ExpertsPerToken = 1 }).ConfigHash());
    }

    [Fact]
    public void Validation_names_every_key_at_fault_and_how_to_fix_it()
    {
        var e = Assert.Throws<ArgumentException>(() => new Llama(new LlamaConfig(50, 96, 2, 32, 5, 24, 8, NExperts: 1)));
        Assert.Contains("n_head: head dimension d_model/n_head = 96/32 = 3 is odd", e.Message);
        Assert.Contains("n_kv_head: n_head 32 is not divisible by n_kv_head 5", e.Message);
        Assert.Contains("n_experts: is 1", e.Message);

        Assert.Equal([("d_model", "must be at least 1, got 0."), ("block_size", "must be at least 1, got -1.")],
            new LlamaConfig(50, 0, 2, 4, 4, 24, -1).Problems());
        Assert.Equal(["n_head"], new LlamaConfig(50, 100, 2, 3, 3, 24, 8).Problems().Select(p => p.Key));
        Assert.Equal(["experts_per_token"], new LlamaConfig(50, 16, 2, 4, 4, 24, 8, NExperts: 4, ExpertsPerToken: 5).Problems().Select(p => p.Key));
        Assert.Equal(["moe_capacity_factor"], new LlamaConfig(50, 16, 2, 4, 4, 24, 8, MoeCapacityFactor: double.NaN).Problems().Select(p => p.Key));
        Assert.Equal(["doc_mask"], new LlamaConfig(50, 16, 2, 4, 4, 24, 8, DocMask: true, DocumentSeparator: 50).Problems().Select(p => p.Key));
        Assert.Empty(new LlamaConfig(50, 16, 2, 4, 2, 24, 8, DocMask: true, DocumentSeparator: 49, NExperts: 4).Problems());
    }
}
