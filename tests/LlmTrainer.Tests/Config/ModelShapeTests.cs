using LlmTrainer.Config;
using LlmTrainer.Model;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Config;

[Collection("torch")]
public sealed class ModelShapeTests
{
    public static TheoryData<string> BuiltinNames() => new(BuiltinConfigs.Names);

    /// <summary>
    /// The count ModelShape gives (printed at start, used for MFU and the FLOP estimate) is the built model's real one.
    /// Configs over 150M parameters are built with 2 layers and a 512-token vocabulary, their own width, heads, MLP and
    /// experts: the per-layer count is what differs between configs, the rest is the same formula at any size.
    /// </summary>
    [Theory]
    [MemberData(nameof(BuiltinNames))]
    public void The_parameter_count_of_every_built_in_config_is_the_built_model_s(string name)
    {
        var config = ConfigLoader.Load([], new ConfigLoadOptions { Config = name, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;
        if (config.VocabSize == 0) config = config with { VocabSize = 2048 };
        if (ModelShape.From(config).TotalParameters > 150_000_000) config = config with { NLayer = 2, VocabSize = 512 };
        var shape = ModelShape.From(config);
        using var model = new Llama(Trainer.ToModelConfig(config));
        Assert.Equal(shape.TotalParameters, model.num_parameters());

        // Active: the total less the experts a token skips, counted from the model's own tensors.
        var parameters = model.named_parameters().ToList();
        long expert = parameters.Where(p => p.name.StartsWith("model.layers.0.block_sparse_moe.experts.0.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        long skipped = config.IsMoe ? (long)config.NLayer * (config.NExperts - config.ExpertsPerToken) * expert : 0;
        Assert.Equal(shape.ActiveParameters, model.num_parameters() - skipped);
        Assert.Equal(config.IsMoe, shape.IsMoe);
    }

    [Theory]
    [InlineData(288, 32, 768)]    // llama2.c 15M
    [InlineData(512, 32, 1376)]   // 1365 rounded up
    [InlineData(768, 32, 2048)]
    [InlineData(4096, 256, 11008)] // LLaMA-7B
    [InlineData(100, 1, 266)]
    public void Default_ffn_follows_llama(int dModel, int multipleOf, int expected) =>
        Assert.Equal(expected, ModelShape.DefaultFfnHidden(dModel, multipleOf));

    [Fact]
    public void Counts_every_tensor_of_a_small_untied_gqa_model()
    {
        // vocab 10, d 8, 2 layers, 4 heads of dim 2, 2 kv heads, ffn 12.
        var shape = new ModelShape(VocabSize: 10, DModel: 8, NLayer: 2, NHead: 4, NKvHead: 2, FfnHidden: 12,
            NExperts: 0, ExpertsPerToken: 2, TieEmbeddings: false, BlockSize: 16);
        long embed = 10 * 8, q = 8 * 8, k = 8 * 4, v = 8 * 4, o = 8 * 8, mlp = 3 * 8 * 12, norms = 2 * 8, final = 8, head = 10 * 8;
        Assert.Equal(q + k + v + o, shape.AttentionParametersPerLayer);
        Assert.Equal(embed + 2 * (q + k + v + o + mlp + norms) + final + head, shape.TotalParameters);
        Assert.Equal(shape.TotalParameters, shape.ActiveParameters);
        Assert.Equal(shape.TotalParameters - embed, shape.MatmulParameters);
    }

    [Fact]
    public void Tied_embeddings_are_counted_once_but_the_head_still_costs_flops()
    {
        var untied = new ModelShape(10, 8, 2, 4, 4, 12, 0, 2, false, 16);
        var tied = untied with { TieEmbeddings = true };
        Assert.Equal(untied.TotalParameters - 80, tied.TotalParameters);
        Assert.Equal(untied.MatmulParameters, tied.MatmulParameters);
    }

    [Fact]
    public void Moe_adds_a_router_and_experts_but_activates_only_some()
    {
        var dense = new ModelShape(10, 8, 2, 4, 4, 12, 0, 2, true, 16);
        var moe = dense with { NExperts = 4, ExpertsPerToken = 2 };
        long expert = 3 * 8 * 12, router = 8 * 4;
        Assert.Equal(dense.TotalParameters + 2 * (router + 3 * expert), moe.TotalParameters);
        Assert.Equal(dense.TotalParameters + 2 * (router + expert), moe.ActiveParameters);
        // The FLOP estimate (and so MFU) counts the parameters a token passes through, not the idle experts.
        Assert.Equal(dense.TrainingFlopsPerToken() + 6.0 * 2 * (router + expert), moe.TrainingFlopsPerToken());
    }

    [Fact]
    public void Training_flops_are_six_n_plus_attention()
    {
        var shape = new ModelShape(10, 8, 2, 4, 4, 12, 0, 2, true, 16);
        var n = shape.MatmulParameters;
        Assert.Equal(6.0 * n + 12.0 * 2 * 8 * 16, shape.TrainingFlopsPerToken());
        Assert.Equal(6.0 * n + 12.0 * 2 * 8 * 4, shape.TrainingFlopsPerToken(contextLength: 4));
    }

    [Fact]
    public void Shape_from_config_uses_resolved_defaults_and_needs_a_vocabulary()
    {
        var config = new TrainConfig { DModel = 64, NHead = 4, NKvHead = 0, FfnHidden = 0, VocabSize = 0 };
        Assert.Throws<ArgumentException>(() => ModelShape.From(config));
        var shape = ModelShape.From(config, vocabSize: 100);
        Assert.Equal(4, shape.NKvHead);
        Assert.Equal(ModelShape.DefaultFfnHidden(64, 32), shape.FfnHidden);
        Assert.Equal(100, shape.VocabSize);
    }
}
