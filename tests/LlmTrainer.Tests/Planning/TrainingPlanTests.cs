using LlmTrainer.Benchmarks;
using LlmTrainer.Config;
using LlmTrainer.Planning;
using Xunit.Abstractions;

namespace LlmTrainer.Tests.Planning;

/// <summary>
/// The planner against the CPU allocator's measured peak of a real training step (forward, backward, clipping, AdamW; the
/// step the trainer runs), for the tiny and 15m configs: within 15 %. 15m runs at a smaller batch than its config's 64 so
/// that the test takes seconds; two micro-batches per step keep the gradient accumulation in play.
/// </summary>
[Collection("torch")]
public sealed class TrainingPlanTests(ITestOutputHelper output)
{
    private static readonly PlanDevice Cpu = new("cpu", "test CPU", 64L << 30, null, IsCuda: false);

    private static TrainConfig Config(string name, params string[] args) =>
        ConfigLoader.Load([.. args, "--device", "cpu", "--dtype", "float32"],
                new ConfigLoadOptions { Config = name, Environment = new Dictionary<string, string>(), CheckDataPaths = false })
            .Config.Resolve(RuntimeCapabilities.CpuOnly, LlmTrainer.Data.BuiltinData.VocabSize);

    [Theory]
    [InlineData("tiny")]
    [InlineData("tiny", "--activation_checkpointing", "true")]
    [InlineData("15m", "--batch_size", "4", "--grad_accum_steps", "2")]
    [InlineData("15m", "--batch_size", "4", "--grad_accum_steps", "1", "--activation_checkpointing", "true")]
    public void The_planned_peak_is_within_15_percent_of_the_measured_peak_of_a_training_step(string config, params string[] args)
    {
        var cfg = Config(config, args);
        var plan = TrainingPlan.For(cfg, Cpu);
        var measured = TrainStepBenchmark.Run(cfg, warmup: 1, steps: 1);
        double peak = measured.PeakMemoryMb!.Value * 1048576;
        double error = plan.Peak / peak - 1;
        output.WriteLine($"{config} {string.Join(' ', args)}: planned {plan.Peak / 1048576:F1} MiB, measured {peak / 1048576:F1} MiB ({error:P1})");
        Assert.True(Math.Abs(error) <= 0.15, $"planned {plan.Peak / 1048576:F1} MiB, measured {peak / 1048576:F1} MiB ({error:P1})");
    }

    [Fact]
    public void The_components_follow_the_parameter_count_and_the_memory_estimate_is_a_lower_bound_of_the_plan()
    {
        var cfg = Config("15m");
        var plan = TrainingPlan.For(cfg, Cpu);
        long p = cfg.ToModelConfig().TotalParameters;
        Assert.Equal(p, plan.Parameters);
        Assert.Equal(4.0 * p, plan.Weights);
        Assert.Equal(4.0 * p, plan.Gradients);
        Assert.Equal(8.0 * p, plan.Optimizer);
        Assert.Equal(0, plan.CastWeights); // no autocast on the CPU
        Assert.Equal(0, plan.AllocatorMargin);
        Assert.Null(plan.StepSeconds);
        Assert.True(plan.ActivationsCheckpointed < plan.ActivationsPlain);
        Assert.True(LlmTrainer.Training.MemoryEstimate.For(cfg).TotalBytes < plan.Peak);
    }

    [Fact]
    public void On_a_gpu_autocast_adds_bf16_copies_the_allocator_its_margin_and_the_time_follows_the_assumed_mfu()
    {
        var h100 = PlanDevice.Parse("h100-80gb");
        Assert.Equal(989, h100.Bf16Tflops);
        var cfg = Config("500m") with { Device = "cuda", Dtype = "bfloat16" };
        var plan = TrainingPlan.For(cfg, h100);
        Assert.Equal(2.0 * cfg.ToModelConfig().MatmulParameters, plan.CastWeights);
        Assert.Equal(TrainingPlan.CudaAllocatorMargin * plan.Peak, plan.AllocatorMargin, 1e-6);
        Assert.Equal(plan.Peak + plan.AllocatorMargin + plan.Context, plan.Total);
        Assert.Equal(TrainingPlan.DefaultMfu, plan.Mfu);
        double flops = cfg.ToModelConfig().TrainingFlopsPerToken() * cfg.TokensPerStep;
        Assert.Equal(flops / (989e12 * 0.40), plan.StepSeconds!.Value, 1e-9);
        var slower = TrainingPlan.For(cfg, h100, mfu: 0.2);
        Assert.Equal(2 * plan.StepSeconds.Value, slower.StepSeconds!.Value, 1e-9);

        // The largest batch fits and one more does not.
        Assert.True(plan.MaxBatchSize > 0);
        Assert.True(TrainingPlan.For(cfg with { BatchSize = plan.MaxBatchSize }, h100).Fits);
        Assert.False(TrainingPlan.For(cfg with { BatchSize = plan.MaxBatchSize + 1 }, h100).Fits);
        Assert.True(plan.MaxBatchSizeCheckpointed > plan.MaxBatchSize);
        // Less memory, smaller batches.
        Assert.True(TrainingPlan.For(cfg, PlanDevice.Parse("a100-40gb")).MaxBatchSize < plan.MaxBatchSize);
    }

    [Fact]
    public void An_unknown_device_names_the_known_ones()
    {
        var e = Assert.Throws<LlmTrainerException>(() => PlanDevice.Parse("tpu-v5"));
        Assert.Contains("h100-80gb", e.Message);
        Assert.Contains("cpu", e.Message);
    }
}
