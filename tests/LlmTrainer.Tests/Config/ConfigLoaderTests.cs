using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class ConfigLoaderTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static LoadedConfig Load(string[] args, Dictionary<string, string>? env = null, string? config = null) =>
        ConfigLoader.Load(args, new ConfigLoadOptions { Config = config, Environment = env ?? [] });

    private string File(string json) => _files.Write("run.json", json);

    [Fact]
    public void Layers_override_in_order_file_then_environment_then_command_line()
    {
        var path = File("""{ "batch_size": 8, "block_size": 64, "max_iters": 500, "warmup_iters": 10, "learning_rate": 0.002 }""");
        var env = new Dictionary<string, string>
        {
            ["LLMTRAIN_block_size"] = "96",
            ["LLMTRAIN_max_iters"] = "700",
            ["UNRELATED"] = "x",
        };

        var loaded = Load(["--max_iters", "900"], env, path);

        Assert.Equal(8, loaded.Config.BatchSize);          // file only
        Assert.Equal(96, loaded.Config.BlockSize);         // env over file
        Assert.Equal(900, loaded.Config.MaxIters);         // command line over env over file
        Assert.Equal(0.002, loaded.Config.LearningRate);
        Assert.Equal(0.9, loaded.Config.Beta1);            // default: in no layer
        Assert.Contains(path, loaded.KeySources["batch_size"]);
        Assert.Equal("environment variable LLMTRAIN_block_size", loaded.KeySources["block_size"]);
        Assert.Equal("command line --max_iters", loaded.KeySources["max_iters"]);
        Assert.False(loaded.KeySources.ContainsKey("beta1"));
    }

    [Fact]
    public void Command_line_accepts_equals_kebab_case_and_bare_booleans()
    {
        var loaded = Load(["--config", "tiny", "--batch-size=4", "--tie_embeddings", "--learning_rate", "3e-4", "--seed", "-7", "--max_iters", "1e3"]);
        Assert.Equal(4, loaded.Config.BatchSize);
        Assert.True(loaded.Config.TieEmbeddings);
        Assert.Equal(3e-4, loaded.Config.LearningRate);
        Assert.Equal(-7, loaded.Config.Seed);
        Assert.Equal(1000, loaded.Config.MaxIters);
        Assert.Equal("built-in config 'tiny'", loaded.Origin);
    }

    [Fact]
    public void Activation_checkpointing_is_off_by_default_and_set_like_any_boolean()
    {
        Assert.False(Load(["--config", "tiny"]).Config.ActivationCheckpointing);
        Assert.True(Load(["--config", "tiny", "--activation_checkpointing"]).Config.ActivationCheckpointing);
        Assert.True(Load(["--config", "tiny", "--activation-checkpointing=true"]).Config.ActivationCheckpointing);
        Assert.True(Load([], new() { ["LLMTRAIN_ACTIVATION_CHECKPOINTING"] = "true" }).Config.ActivationCheckpointing);
    }

    [Fact]
    public void Environment_keys_are_case_insensitive_and_named_as_spelt()
    {
        var loaded = Load([], new() { ["LLMTRAIN_BATCH_SIZE"] = "5", ["llmtrain_dtype"] = "BF16" });
        Assert.Equal(5, loaded.Config.BatchSize);
        Assert.Equal("bfloat16", loaded.Config.Dtype);
        Assert.Equal("environment variable LLMTRAIN_BATCH_SIZE", loaded.KeySources["batch_size"]);
    }

    [Fact]
    public void Without_config_the_tiny_config_is_used_and_names_the_run()
    {
        var loaded = Load([]);
        Assert.Equal("tiny", loaded.Config.Name);
        Assert.Equal(ConfigLoader.Load([], new ConfigLoadOptions { Config = "tiny", Environment = new Dictionary<string, string>() }).Config, loaded.Config);
        Assert.True(loaded.Config.Data.IsBuiltin);
    }

    [Fact]
    public void A_config_file_names_the_run_after_its_file_unless_name_is_set()
    {
        var path = _files.Write("my-experiment.json", """{ "d_model": 64, "n_head": 2 }""");
        Assert.Equal("my-experiment", Load([], config: path).Config.Name);
        Assert.Equal("other", Load(["--name", "other"], config: path).Config.Name);
    }

    [Fact]
    public void Config_can_come_from_the_arguments_or_the_options_but_not_both_differently()
    {
        var path = File("""{ "batch_size": 3 }""");
        Assert.Equal(3, Load(["--config", path]).Config.BatchSize);
        Assert.Equal(3, Load(["--config", path], config: path).Config.BatchSize);
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--config", "15m"], config: path));
        Assert.Contains("--config", e.Message);
    }

    [Fact]
    public void A_run_directory_stands_for_its_config_json()
    {
        _files.Write("config.json", """{ "name": "earlier-run", "batch_size": 6 }""");
        var loaded = Load([], config: _files.Root);
        Assert.Equal(6, loaded.Config.BatchSize);
        Assert.Equal("earlier-run", loaded.Config.Name);
    }

    [Fact]
    public void Unknown_config_name_lists_the_built_in_ones()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--config", "huge"]));
        Assert.Contains("'huge'", e.Message);
        Assert.Contains("tiny", e.Message);
        Assert.Contains("500m", e.Message);
    }

    [Fact]
    public void Unknown_key_suggests_the_nearest_known_key_and_names_its_source()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--batchsize", "8"]));
        Assert.Contains("batchsize", e.Message);
        Assert.Contains("did you mean 'batch_size'", e.Message);
        Assert.Contains("command line", e.Message);

        var fromEnv = Assert.Throws<LlmTrainerException>(() => Load([], new() { ["LLMTRAIN_learnig_rate"] = "1" }));
        Assert.Contains("did you mean 'learning_rate'", fromEnv.Message);
        Assert.Contains("environment variable LLMTRAIN_learnig_rate", fromEnv.Message);

        var path = File("""{ "d_modle": 64 }""");
        var fromFile = Assert.Throws<LlmTrainerException>(() => Load([], config: path));
        Assert.Contains("did you mean 'd_model'", fromFile.Message);
        Assert.Contains(path, fromFile.Message);
    }

    [Fact]
    public void A_key_far_from_every_known_key_lists_the_known_keys()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--colour", "blue"]));
        Assert.Contains("colour", e.Message);
        Assert.Contains("known keys are", e.Message);
        Assert.Contains("experts_per_token", e.Message);
    }

    [Theory]
    [InlineData("batch_size", "abc", "an integer")]
    [InlineData("batch_size", "2.5", "an integer")]
    [InlineData("batch_size", "99999999999", "an integer")]
    [InlineData("learning_rate", "fast", "a number")]
    [InlineData("learning_rate", "NaN", "a number")]
    [InlineData("tie_embeddings", "maybe", "true or false")]
    [InlineData("activation_checkpointing", "yes please", "true or false")]
    [InlineData("seed", "", "an integer")]
    public void Wrong_types_name_the_key_the_value_and_the_expected_type(string key, string value, string expected)
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load([$"--{key}", value]));
        Assert.Contains(key, e.Message);
        Assert.Contains($"'{value}'", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains("command line", e.Message);
    }

    [Fact]
    public void A_list_where_a_number_belongs_is_a_type_error()
    {
        var path = File("""{ "d_model": [1, 2] }""");
        var e = Assert.Throws<LlmTrainerException>(() => Load([], config: path));
        Assert.Contains("d_model", e.Message);
        Assert.Contains("single value", e.Message);
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        var path = File("""{ "batch_size": 8, """);
        var e = Assert.Throws<LlmTrainerException>(() => Load([], config: path));
        Assert.Contains(path, e.Message);
        Assert.Contains("JSON", e.Message);
    }

    [Theory]
    [InlineData("stray")]
    [InlineData("-b")]
    [InlineData("--")]
    public void Malformed_arguments_are_rejected(string token)
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load([token]));
        Assert.Contains(token, e.Message);
    }

    [Fact]
    public void An_option_without_a_value_is_rejected_unless_it_is_boolean()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--batch_size", "--max_iters", "5"]));
        Assert.Contains("--batch_size needs a value", e.Message);
        Assert.False(Load(["--tie_embeddings=false"]).Config.TieEmbeddings);
    }

    [Fact]
    public void Config_cannot_be_set_inside_a_file()
    {
        var path = File("""{ "config": "15m" }""");
        var e = Assert.Throws<LlmTrainerException>(() => Load([], config: path));
        Assert.Contains("config", e.Message);
        Assert.Contains("command line", e.Message);
    }

    [Fact]
    public void Problems_are_reported_together_each_with_its_key()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--dropout", "1.5", "--beta2", "-0.1"]));
        Assert.Contains("2 problems", e.Message);
        Assert.Contains("dropout (command line --dropout)", e.Message);
        Assert.Contains("beta2 (command line --beta2)", e.Message);
    }
}
