using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Torch.Tests;

/// <summary>torch.autocast on the CPU: matmuls in bfloat16 inside, float32 parameters and results outside, state restored.</summary>
public sealed class AutocastTests
{
    [Fact]
    public void Cpu_autocast_runs_linear_in_bfloat16_and_restores_the_previous_state()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([4, 8]);
        var w = new Parameter(torch.randn([3, 8]));
        Assert.False(torch.is_autocast_enabled(DeviceType.CPU));
        using (torch.autocast(DeviceType.CPU))
        {
            Assert.True(torch.is_autocast_enabled(DeviceType.CPU));
            Assert.False(torch.is_autocast_enabled(DeviceType.CUDA));
            var y = F.linear(x, w);
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            // bfloat16 keeps 8 bits of mantissa: close to the float32 product, not equal.
            var exact = F.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64));
            Assert.True(y.to(ScalarType.Float64).sub(exact).abs().max().item<double>() < 0.1);
            y.to(ScalarType.Float32).sum().backward();
        }
        Assert.False(torch.is_autocast_enabled(DeviceType.CPU));
        Assert.Equal(ScalarType.Float32, F.linear(x, w).dtype);
        Assert.Equal(ScalarType.Float32, w.dtype);
        Assert.Equal(ScalarType.Float32, w.grad!.dtype); // gradients reach the float32 parameter
        w.Dispose();
    }

    [Fact]
    public void Nested_autocast_restores_the_outer_state()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 4]);
        var w = torch.randn([4, 4]);
        using (torch.autocast(DeviceType.CPU))
        {
            using (torch.autocast(DeviceType.CPU))
                Assert.Equal(ScalarType.BFloat16, F.linear(x, w).dtype);
            Assert.True(torch.is_autocast_enabled(DeviceType.CPU));
            Assert.Equal(ScalarType.BFloat16, F.linear(x, w).dtype);
        }
        Assert.False(torch.is_autocast_enabled(DeviceType.CPU));
    }
}
