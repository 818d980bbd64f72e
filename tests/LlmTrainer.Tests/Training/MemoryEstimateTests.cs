using LlmTrainer.Benchmarks;
using LlmTrainer.Config;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

/// <summary>The memory estimate is a lower bound: a real training step on the CPU always holds at least that much.</summary>
[Collection("torch")]
public sealed class MemoryEstimateTests
{
    private static TrainConfig Config(params string[] args) =>
        ConfigLoader.Load(args, new ConfigLoadOptions { Environment = new Dictionary<string, string>(), CheckDataPaths = false })
            .Config.Resolve(RuntimeCapabilities.CpuOnly, 2048) with { Device = "cpu" };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_estimate_stays_below_the_measured_peak_of_a_training_step(bool checkpointing)
    {
        var cfg = Config("--batch_size", "4", "--block_size", "64", "--n_layer", "3", "--device", "cpu",
                         "--activation_checkpointing", checkpointing ? "true" : "false");
        var estimate = MemoryEstimate.For(cfg);
        var measured = TrainStepBenchmark.Run(cfg, warmup: 1, steps: 1);
        long peak = (long)(measured.PeakMemoryMb!.Value * 1048576);
        Assert.True(estimate.TotalBytes <= peak, $"estimate {estimate.TotalBytes:N0} bytes, measured peak {peak:N0}");
        Assert.True(estimate.TotalBytes > peak / 4, $"estimate {estimate.TotalBytes:N0} bytes is uselessly low against {peak:N0}");
        Assert.Equal(4 * cfg.ToModelConfig().TotalParameters, estimate.WeightBytes);
    }

    [Fact]
    public void Check_refuses_what_exceeds_the_available_bytes_and_names_the_fix()
    {
        var estimate = new MemoryEstimate(4L << 30, 4L << 30, 8L << 30, 6L << 30);
        estimate.Check(20L << 30, "this machine"); // 4 + 8 + max(4, 6) = 18 GiB fits in 20
        estimate.Check(null, "this machine");      // unknown: no refusal
        var e = Assert.Throws<LlmTrainerException>(() => estimate.Check(16L << 30, "this machine"));
        Assert.Contains("needs at least 18.0 GiB", e.Message);
        Assert.Contains("this machine has 16.0 GiB available", e.Message);
        Assert.Contains("activation_checkpointing", e.Message);
    }
}
