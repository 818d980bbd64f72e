using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class ConfigValidationTests
{
    private static LlmTrainerException Reject(params string[] args) =>
        Assert.Throws<LlmTrainerException>(() =>
            ConfigLoader.Load(args, new ConfigLoadOptions { Environment = new Dictionary<string, string>() }));

    [Theory]
    [InlineData("d_model", "1000000000")]
    [InlineData("ffn_hidden", "100000000")]
    [InlineData("block_size", "100000000")]
    [InlineData("vocab_size", "1000000000")]
    [InlineData("n_layer", "100000")]
    [InlineData("batch_size", "10000000")]
    [InlineData("multiple_of", "2147483647")] // ffn_hidden 0 rounds llama's width up to it
    [InlineData("multiple_of", "1000000000")]
    public void Sizes_beyond_any_model_are_refused_before_any_arithmetic_overflows(string key, string value)
    {
        var e = Reject("--" + key, value, "--n_head", "1");
        Assert.Contains(key, e.Message);
        Assert.Contains("more than llmtrain supports", e.Message);
    }

    [Theory]
    [InlineData("batch_size", "0")]
    [InlineData("block_size", "-1")]
    [InlineData("max_iters", "0")]
    [InlineData("eval_interval", "0")]
    [InlineData("eval_iters", "0")]
    [InlineData("log_interval", "0")]
    [InlineData("d_model", "0")]
    [InlineData("n_layer", "0")]
    [InlineData("n_head", "0")]
    [InlineData("grad_accum_steps", "0")]
    [InlineData("multiple_of", "0")]
    [InlineData("n_kv_head", "-1")]
    [InlineData("ffn_hidden", "-2")]
    [InlineData("vocab_size", "-5")]
    [InlineData("checkpoint_interval", "-1")]
    [InlineData("warmup_iters", "-1")]
    [InlineData("lr_decay_iters", "-1")]
    [InlineData("cooldown_iters", "-1")]
    [InlineData("n_experts", "-1")]
    [InlineData("learning_rate", "0")]
    [InlineData("min_lr", "-0.1")]
    [InlineData("weight_decay", "-0.01")]
    [InlineData("grad_clip", "-1")]
    [InlineData("rope_theta", "0")]
    [InlineData("norm_eps", "0")]
    [InlineData("norm_eps", "2")]
    [InlineData("dropout", "1")]
    [InlineData("dropout", "-0.1")]
    [InlineData("beta1", "1.0")]
    [InlineData("beta2", "1.5")]
    public void Out_of_range_values_name_the_key_and_the_value(string key, string value)
    {
        var e = Reject($"--{key}", value);
        Assert.StartsWith($"invalid config: {key} (command line --{key}):", e.Message);
        var shown = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"got {shown}", e.Message);
    }

    [Fact]
    public void D_model_not_divisible_by_n_head_suggests_head_counts()
    {
        var e = Reject("--d_model", "128", "--n_head", "5");
        Assert.Contains("n_head", e.Message);
        Assert.Contains("not divisible", e.Message);
        Assert.Contains("e.g. 1, 2, 4, 8", e.Message);
    }

    [Fact]
    public void Odd_head_dimension_is_rejected_for_rope()
    {
        var e = Reject("--d_model", "96", "--n_head", "32");
        Assert.Contains("n_head", e.Message);
        Assert.Contains("96/32 = 3 is odd", e.Message);
    }

    [Fact]
    public void The_shape_check_adds_nothing_to_a_key_already_at_fault_nor_reads_sizes_out_of_range()
    {
        var nan = Assert.Throws<LlmTrainerException>(() => ConfigValidator.Validate(new TrainConfig { MoeCapacityFactor = double.NaN }, checkDataPaths: false));
        Assert.Equal("invalid config: moe_capacity_factor: must be a finite number, got NaN.", nan.Message);
        // llama's ffn_hidden of this d_model overflows; only d_model is reported.
        var huge = Assert.Throws<LlmTrainerException>(() => ConfigValidator.Validate(new TrainConfig { DModel = int.MaxValue, NHead = 5 }, checkDataPaths: false));
        Assert.StartsWith("invalid config: d_model: is 2,147,483,647, more than llmtrain supports", huge.Message);
    }

    [Fact]
    public void N_head_not_divisible_by_n_kv_head_lists_valid_values()
    {
        var e = Reject("--d_model", "192", "--n_head", "6", "--n_kv_head", "4");
        Assert.Contains("n_kv_head (command line --n_kv_head)", e.Message);
        Assert.Contains("use one of 1, 2, 3, 6 (6: plain multi-head attention)", e.Message);
    }

    [Fact]
    public void Warmup_longer_than_training_is_rejected()
    {
        var e = Reject("--max_iters", "100", "--warmup_iters", "200");
        Assert.Contains("warmup_iters", e.Message);
        Assert.Contains("use at most 100", e.Message);
    }

    [Fact]
    public void Default_values_in_conflict_say_they_are_defaults()
    {
        // tiny.json sets warmup_iters 30; a 20-step run conflicts with it.
        var e = Reject("--max_iters", "20");
        Assert.Contains("warmup_iters (built-in config 'tiny')", e.Message);
        using var files = new ConfigTestFiles();
        var empty = files.Write("empty.json", "{}");
        var fromDefault = Assert.Throws<LlmTrainerException>(() => ConfigLoader.Load(["--max_iters", "20"],
            new ConfigLoadOptions { Config = empty, Environment = new Dictionary<string, string>() }));
        Assert.Contains("warmup_iters (default)", fromDefault.Message);
    }

    [Fact]
    public void Decay_ending_before_warmup_and_cooldown_overlapping_warmup_are_rejected()
    {
        Assert.Contains("lr_decay_iters", Reject("--warmup_iters", "100", "--lr_decay_iters", "50").Message);
        Assert.Contains("cooldown_iters", Reject("--max_iters", "500", "--warmup_iters", "50", "--cooldown_iters", "480").Message);
    }

    [Fact]
    public void Min_lr_above_learning_rate_is_rejected()
    {
        var e = Reject("--learning_rate", "1e-4", "--min_lr", "1e-3");
        Assert.Contains("min_lr", e.Message);
        Assert.Contains("above learning_rate", e.Message);
    }

    [Fact]
    public void Experts_per_token_above_n_experts_is_rejected()
    {
        var e = Reject("--n_experts", "4", "--experts_per_token", "5");
        Assert.Contains("experts_per_token", e.Message);
        Assert.Contains("between 1 and n_experts (4)", e.Message);
        Assert.Contains("n_experts", Reject("--n_experts", "1").Message);
    }

    [Theory]
    [InlineData("moe_capacity_factor", "-1")]
    [InlineData("moe_aux_loss_coef", "-0.01")]
    [InlineData("moe_z_loss_coef", "-0.001")]
    public void Negative_moe_values_are_rejected(string key, string value)
    {
        var e = Reject("--n_experts", "4", $"--{key}", value);
        Assert.StartsWith($"invalid config: {key} (command line --{key}):", e.Message);
        Assert.Contains($"got {value}", e.Message);
    }

    [Theory]
    [InlineData("experts_per_token", "2")]
    [InlineData("moe_capacity_factor", "1.25")]
    [InlineData("moe_aux_loss_coef", "0.01")]
    [InlineData("moe_z_loss_coef", "0.001")]
    public void Moe_keys_on_a_dense_model_are_errors_not_ignored(string key, string value)
    {
        var e = Reject($"--{key}", value);
        Assert.StartsWith($"invalid config: {key} (command line --{key}): applies to a mixture of experts only", e.Message);
        Assert.Contains("set n_experts to 2 or more", e.Message);
        var env = Assert.Throws<LlmTrainerException>(() => ConfigLoader.Load([],
            new ConfigLoadOptions { Environment = new Dictionary<string, string> { [$"LLMTRAIN_{key}"] = value } }));
        Assert.Contains($"{key} (environment variable LLMTRAIN_{key}): applies to a mixture of experts only", env.Message);
        ConfigLoader.Load([$"--{key}", value, "--n_experts", "4"], new ConfigLoadOptions { Environment = new Dictionary<string, string>() });
    }

    [Fact]
    public void Multiple_of_with_an_explicit_ffn_hidden_is_an_error()
    {
        var e = Reject("--ffn_hidden", "100", "--multiple_of", "64");
        Assert.Contains("multiple_of (command line --multiple_of): only rounds the automatic MLP width, and ffn_hidden is set (100)", e.Message);
    }

    [Fact]
    public void A_config_file_may_hold_an_unused_key_at_its_default_as_earlier_run_configs_do()
    {
        using var files = new ConfigTestFiles();
        // config.json of a dense run written before MoE existed: every key, experts_per_token and multiple_of at their defaults.
        var old = files.Write("old.json", """{ "n_experts": 0, "experts_per_token": 2, "ffn_hidden": 768, "multiple_of": 32 }""");
        var config = ConfigLoader.Load([], new ConfigLoadOptions { Config = old, Environment = new Dictionary<string, string>() }).Config;
        Assert.Equal(768, config.FfnHidden);
        var changed = files.Write("changed.json", """{ "n_experts": 0, "experts_per_token": 3 }""");
        var e = Assert.Throws<LlmTrainerException>(() => ConfigLoader.Load([], new ConfigLoadOptions { Config = changed, Environment = new Dictionary<string, string>() }));
        Assert.Contains("experts_per_token", e.Message);
        Assert.Contains("applies to a mixture of experts only", e.Message);
    }

    [Theory]
    [InlineData("dtype", "int8", "not a dtype")]
    [InlineData("dtype", "fp16", "loss scaling")]
    [InlineData("device", "tpu", "not a device")]
    [InlineData("device", "cuda:x", "not a device")]
    [InlineData("device", "cuda:", "not a device")]
    public void Unknown_dtype_and_device_names_are_rejected(string key, string value, string expected)
    {
        var e = Reject($"--{key}", value);
        Assert.Contains($"{key} (command line --{key})", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("FP32", "float32")]
    [InlineData("bf16", "bfloat16")]
    [InlineData("auto", "auto")]
    public void Dtype_aliases_are_normalised(string given, string expected)
    {
        var config = ConfigLoader.Load(["--dtype", given], new ConfigLoadOptions { Environment = new Dictionary<string, string>() }).Config;
        Assert.Equal(expected, config.Dtype);
    }

    [Fact]
    public void Missing_data_path_names_the_key_and_the_fix()
    {
        var e = Reject("--data", "/nonexistent/llmtrain-data");
        Assert.Contains("data (command line --data)", e.Message);
        Assert.Contains("/nonexistent/llmtrain-data", e.Message);
        Assert.Contains("llmtrain prepare", e.Message);
    }

    [Fact]
    public void Validate_accepts_the_defaults_and_rejects_code_built_configs_too()
    {
        ConfigValidator.Validate(new TrainConfig());
        var e = Assert.Throws<LlmTrainerException>(() => ConfigValidator.Validate(new TrainConfig { LearningRate = double.NaN }));
        Assert.Contains("learning_rate: must be a finite number", e.Message);
    }
}
