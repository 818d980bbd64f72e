using System.Text.Json;
using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class ConfigJsonTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private TrainConfig Reload(TrainConfig config)
    {
        var path = _files.Write("config.json", ConfigJson.Render(config));
        return ConfigLoader.Load([], new ConfigLoadOptions { Config = path, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;
    }

    [Fact]
    public void Rendered_config_loads_back_equal()
    {
        var config = new TrainConfig
        {
            Name = "résumé run",
            LearningRate = 3e-4,
            MinLr = 1.5e-5,
            Dropout = 0.1,
            TieEmbeddings = false,
            Seed = -3,
            NExperts = 8,
            ExpertsPerToken = 2,
            ActivationCheckpointing = true,
            Data = DataSpec.Mixture([new DataSource("data/a", 0.7), new DataSource("data/b c", 0.3)]),
        };
        Assert.Equal(config, Reload(config));
        Assert.Equal(new TrainConfig { Name = "x" }, Reload(new TrainConfig { Name = "x" }));
        var single = new TrainConfig { Name = "x", Data = DataSpec.FromPath("data/one") };
        Assert.Equal(single, Reload(single));
    }

    [Fact]
    public void Rendering_has_every_key_in_snake_case()
    {
        // A mixture of experts with an automatic MLP width uses every key.
        using var document = JsonDocument.Parse(ConfigJson.Render(new TrainConfig { NExperts = 4 }));
        var keys = document.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        string[] design =
        [
            "batch_size", "block_size", "max_iters", "eval_interval", "learning_rate", "eval_iters", "d_model", "n_head",
            "n_layer", "dropout", "norm_eps", "n_kv_head", "ffn_hidden", "vocab_size", "rope_theta", "tie_embeddings",
            "weight_decay", "beta1", "beta2", "grad_clip", "warmup_iters", "lr_decay_iters", "min_lr", "cooldown_iters",
            "grad_accum_steps", "dtype", "device", "seed", "out_dir", "log_interval", "checkpoint_interval", "data",
            "n_experts", "experts_per_token", "eval_seed", "name", "multiple_of", "activation_checkpointing",
            "moe_capacity_factor", "moe_aux_loss_coef", "moe_z_loss_coef", "init_from", "doc_mask", "sampling",
        ];
        Assert.Equal(design.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.Equal("builtin", document.RootElement.GetProperty("data").GetString());
        Assert.Equal(JsonValueKind.True, document.RootElement.GetProperty("tie_embeddings").ValueKind);
    }

    [Fact]
    public void Rendering_leaves_out_the_keys_the_model_cannot_use()
    {
        using var dense = JsonDocument.Parse(ConfigJson.Render(new TrainConfig { FfnHidden = 100 }));
        var keys = dense.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("n_experts", keys);
        Assert.Contains("ffn_hidden", keys);
        foreach (var unused in new[] { "experts_per_token", "moe_capacity_factor", "moe_aux_loss_coef", "moe_z_loss_coef", "multiple_of" })
            Assert.DoesNotContain(unused, keys);
        var config = new TrainConfig { Name = "x", FfnHidden = 100 };
        Assert.Equal(config, Reload(config));
    }

    [Fact]
    public void Hash_ignores_operational_keys_but_not_training_ones()
    {
        var config = new TrainConfig();
        Assert.Equal(64, ConfigJson.Hash(config).Length);
        Assert.Equal(ConfigJson.Hash(config), ConfigJson.Hash(config with { Name = "x", OutDir = "y", LogInterval = 1, Device = "cpu" }));
        Assert.Equal(ConfigJson.Hash(config), ConfigJson.Hash(config with { ActivationCheckpointing = true }));
        Assert.NotEqual(ConfigJson.Hash(config), ConfigJson.Hash(config with { LearningRate = 1e-3 }));
        Assert.NotEqual(ConfigJson.Hash(config), ConfigJson.Hash(config with { Data = DataSpec.FromPath("d") }));
    }
}
