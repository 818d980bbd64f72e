using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class BuiltinConfigTests
{
    private static TrainConfig Load(string name) =>
        ConfigLoader.Load([], new ConfigLoadOptions { Config = name, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;

    [Fact]
    public void Every_file_in_configs_is_embedded()
    {
        Assert.Equal(["110m", "15m", "1b", "42m", "4x500m", "500m", "moe-tiny", "tiny"], BuiltinConfigs.Names.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("15m", 15_191_712L)]       // llama2.c's stories15M
    [InlineData("42m", 41_689_600L)]       // llama2.c's stories42M
    [InlineData("110m", 109_529_856L)]     // llama2.c's stories110M
    [InlineData("500m", 502_193_664L)]
    [InlineData("1b", 1_100_048_384L)]     // TinyLlama-1.1B's shape
    public void Built_in_configs_validate_and_have_the_parameter_count_of_their_name(string name, long expected)
    {
        var config = Load(name);
        ConfigValidator.Validate(config, checkDataPaths: false);
        Assert.Equal(name, config.Name);
        var parameters = config.ToModelConfig().TotalParameters;
        Assert.Equal(expected, parameters);
        var nominal = name.EndsWith('b') ? double.Parse(name[..^1]) * 1e9 : double.Parse(name[..^1]) * 1e6;
        Assert.InRange(parameters / nominal, 0.9, 1.15);
    }

    [Fact]
    public void Tiny_is_the_small_cpu_default_on_builtin_data()
    {
        var config = Load("tiny");
        ConfigValidator.Validate(config);
        Assert.True(config.Data.IsBuiltin);
        Assert.Equal("auto", config.Device);
        Assert.Equal(0, config.VocabSize);
        // Its size depends on the tokenizer: about a million parameters with a 4096-token vocabulary.
        Assert.Equal(1_328_256L, (config with { VocabSize = 4096 }).ToModelConfig().TotalParameters);
        // Enough tokens for the validation loss to fall below half its start, few enough for minutes on two cores.
        Assert.InRange(config.TokensPerStep * config.MaxIters, 500_000, 4_000_000);
    }

    [Fact]
    public void Moe_tiny_is_tiny_with_four_half_width_experts_of_which_two_are_active()
    {
        var dense = (Load("tiny") with { VocabSize = 2048 }).ToModelConfig();
        var moe = Load("moe-tiny");
        ConfigValidator.Validate(moe);
        Assert.True(moe.Data.IsBuiltin);
        Assert.Equal((4, 2), (moe.NExperts, moe.ExpertsPerToken));
        var shape = (moe with { VocabSize = 2048 }).ToModelConfig();
        Assert.Equal(dense.FfnHidden, 2 * shape.FfnHidden);
        // The same parameters per token, but for the routers (d_model × n_experts per layer).
        Assert.Equal(dense.TotalParameters + 4 * 128 * 4, shape.ActiveParameters);
        Assert.Equal(Load("tiny") with { Name = "", FfnHidden = 0, NExperts = 0, MoeAuxLossCoef = 0.01 },
                     moe with { Name = "", FfnHidden = 0, NExperts = 0 });
    }

    [Fact]
    public void Four_by_500m_has_four_experts_of_500m_s_mlp_and_two_active()
    {
        var dense = Load("500m").ToModelConfig();
        var moe = Load("4x500m").ToModelConfig();
        Assert.Equal((4, 2), (moe.NExperts, moe.ExpertsPerToken));
        Assert.Equal(dense with { NExperts = 4, ExpertsPerToken = 2 }, moe);
        Assert.Equal(dense.TotalParameters + 18L * (1536 * 4 + 3 * dense.ExpertParameters), moe.TotalParameters);
        Assert.Equal(dense.TotalParameters + 18L * (1536 * 4 + dense.ExpertParameters), moe.ActiveParameters);
        // Half the micro-batch (the experts' activations are twice the MLP's), the same tokens per step.
        Assert.Equal(Load("500m").TokensPerStep, Load("4x500m").TokensPerStep);
    }

    [Theory]
    [InlineData("500m")]
    [InlineData("4x500m")]
    [InlineData("1b")]
    public void Large_configs_ask_for_a_gpu_in_bfloat16(string name)
    {
        var config = Load(name);
        Assert.Equal("cuda", config.Device);
        Assert.Equal("bfloat16", config.Dtype);
        Assert.True(config.BlockSize >= 1024);
    }

    [Fact]
    public void Only_1b_recomputes_activations_and_keeps_half_a_million_tokens_per_step()
    {
        // 16 × 2048 tokens per micro-batch fit in 80 GB only with checkpointing; 500m fits without.
        var big = Load("1b");
        Assert.True(big.ActivationCheckpointing);
        Assert.Equal(16, big.BatchSize);
        Assert.Equal(524_288, big.TokensPerStep);
        Assert.DoesNotContain(BuiltinConfigs.Names.Where(n => n != "1b"), n => Load(n).ActivationCheckpointing);
    }

    [Fact]
    public void Built_in_names_resolve_with_a_json_suffix()
    {
        Assert.Equal(Load("15m"), Load("15m.json"));
    }
}
