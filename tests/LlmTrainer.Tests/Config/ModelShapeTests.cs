using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class ModelShapeTests
{
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
