using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Torch.Tests;

/// <summary>AdamW and clip_grad_norm_ against torch.optim.AdamW / torch.nn.utils.clip_grad_norm_ (Fixtures/adamw.json).</summary>
public sealed class OptimTests
{
    /// <summary>
    /// Every device and AdamW kernel; on the CPU the default kernel also with the fused CPU kernels switched off (then
    /// libtorch's _foreach_ ops run).
    /// </summary>
    public static IEnumerable<object[]> DevicesAndKernels()
    {
        foreach (var d in Devices.All())
        {
            foreach (var kernel in Enum.GetValues<optim.AdamWKernel>())
                yield return [d[0], kernel, true];
            if ((string)d[0] == "cpu") yield return [d[0], optim.AdamWKernel.Auto, false];
        }
    }

    [Theory]
    [MemberData(nameof(DevicesAndKernels))]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Ten_adamw_steps_with_clipping_match_pytorch(string device, optim.AdamWKernel kernel, bool fused)
    {
        bool before = torch.fused_kernels;
        torch.fused_kernels = fused;
        try
        {
            var dev = Device.Parse(device);
            if (kernel == optim.AdamWKernel.Libtorch && !LibtorchHasFusedAdamW(dev))
            {
                var e = Assert.Throws<TorchException>(() => TenSteps(device, kernel));
                Assert.Contains("has no fused AdamW kernel", e.Message);
                return;
            }
            if (kernel == optim.AdamWKernel.OnePass && dev.IsCuda)
            {
                var e = Assert.Throws<TorchException>(() => TenSteps(device, kernel));
                Assert.Contains("one-pass kernel takes contiguous float32 CPU tensors", e.Message);
                return;
            }
            TenSteps(device, kernel);
        }
        finally
        {
            torch.fused_kernels = before;
        }
    }

    /// <summary>libtorch's _fused_adamw_: CUDA from 2.0, the CPU from 2.4.</summary>
    private static bool LibtorchHasFusedAdamW(Device device)
    {
        var v = System.Text.Json.JsonDocument.Parse(torch.build_info()).RootElement.GetProperty("torch_version").GetString()!.Split('.');
        int version = int.Parse(v[0]) * 100 + int.Parse(v[1]);
        return version >= (device.IsCuda ? 201 : 204);
    }

    private static void TenSteps(string device, optim.AdamWKernel kernel)
    {
        var dev = Device.Parse(device);
        var f = Fixture.Load("adamw.json");
        using var scope = torch.NewDisposeScope();
        var w1 = new Parameter(Det([8, 4], 0.1, 0.5, dev));
        var b1 = new Parameter(Det([8], 0.2, 0.1, dev));
        var w2 = new Parameter(Det([3, 8], 0.3, 0.5, dev));
        var b2 = new Parameter(Det([3], 0.4, 0.1, dev));
        Parameter[] all = [w1, b1, w2, b2];
        var x = Det([6, 4], 0.7, 1, dev);
        var y = torch.tensor(new long[] { 0, 2, 1, 1, 0, 2 }, device: dev);
        using var opt = new optim.AdamW(
            [new optim.ParamGroup([w1, w2], weight_decay: 0.1), new optim.ParamGroup([b1, b2], weight_decay: 0.0)],
            lr: 0.01, beta1: 0.85, beta2: 0.97, eps: 1e-7) { Kernel = kernel };

        try
        {
            var losses = f.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var norms = f.GetProperty("grad_norms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            double tol = dev.IsCuda ? 1e-5 : 1e-6;
            for (int step = 0; step < 10; step++)
            {
                using var stepScope = torch.NewDisposeScope();
                opt.zero_grad();
                var h = F.silu(F.linear(x, w1, b1));
                var loss = F.cross_entropy(F.linear(h, w2, b2), y);
                loss.backward();
                double norm = nn.utils.clip_grad_norm_(all, 0.5).item<double>();
                opt.step();
                Assert.True(Math.Abs(loss.item<float>() - losses[step]) < tol, $"step {step}: loss {loss.item<float>()} vs {losses[step]}");
                Assert.True(Math.Abs(norm - norms[step]) < tol * 10, $"step {step}: grad norm {norm} vs {norms[step]}");
            }
            var expected = f.GetProperty("params").EnumerateArray().ToArray();
            for (int i = 0; i < all.Length; i++)
                Assert.True(Fixture.MaxDiff(all[i], expected[i]) < tol, $"parameter {i} differs from PyTorch after 10 steps");
            Assert.True(Fixture.MaxDiff(opt.state_dict()["0.0.exp_avg_sq"], f.GetProperty("exp_avg_sq_0")) < 1e-7);
        }
        finally
        {
            foreach (var p in all) p.Dispose();
        }
    }

    [Fact]
    public void State_dict_entries_are_the_optimizers_own_and_outlive_the_callers_scope()
    {
        using var p = new Parameter(torch.ones([3]));
        using (torch.NewDisposeScope()) p.grad = torch.full([3], 0.5);
        using var opt = new optim.AdamW([p]);
        opt.step();
        opt.step();
        long handles = Tensor.LiveHandleCount;
        Dictionary<string, Tensor> state;
        using (torch.NewDisposeScope()) state = opt.state_dict();
        Assert.Equal(handles, Tensor.LiveHandleCount); // no handle was made for the caller
        Assert.Equal(2, state["0.step"].item<long>());  // and none went with the caller's scope
        using var check = torch.NewDisposeScope();
        Assert.True(state["0.0.exp_avg"].sum().item<float>() > 0);
    }

    [Fact]
    public void Clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.zeros([2]));
        p.grad = torch.tensor(new float[] { 3, 4 });
        var norm = nn.utils.clip_grad_norm_([p], 1.0);
        Assert.Equal(0, norm.dim()); // a tensor, read only when wanted, as in PyTorch
        Assert.Equal(5.0, norm.item<double>(), 5);
        var g = p.grad!.ToArray<float>();
        Assert.Equal(0.6f, g[0], 4);
        Assert.Equal(0.8f, g[1], 4);
        p.Dispose();
    }

    [Fact]
    public void Clip_grad_norm_without_gradients_is_zero_and_max_norm_0_only_measures()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.zeros([2]));
        Assert.Equal(0.0, nn.utils.clip_grad_norm_([p], 1.0).item<double>());
        p.grad = torch.tensor(new float[] { 3, 4 });
        Assert.Equal(5.0, nn.utils.clip_grad_norm_([p], 0).item<double>(), 5);
        Assert.Equal(new float[] { 3, 4 }, p.grad!.ToArray<float>());
        p.Dispose();
    }

    [Fact]
    public void Zero_grad_sets_to_none_or_zeroes()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.ones([3]));
        (p * 2).sum().backward();
        Assert.Equal(new float[] { 2, 2, 2 }, p.grad!.ToArray<float>());
        optim.ZeroGrad([p], setToNone: false);
        Assert.Equal(new float[] { 0, 0, 0 }, p.grad!.ToArray<float>());
        optim.ZeroGrad([p], setToNone: true);
        Assert.Null(p.grad);
        p.Dispose();
    }

    [Fact]
    public void Optimizer_state_round_trips_through_state_dict()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.ones([4]));
        using var a = new optim.AdamW([p], lr: 0.1);
        (p * p).sum().backward();
        a.step();
        var state = a.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var q = new Parameter(torch.ones([4]));
        using var b = new optim.AdamW([q], lr: 0.1);
        b.load_state_dict(state);
        Assert.Equal(1, b.StepCount);
        Assert.True(b.state_dict()["0.0.exp_avg"].equal(a.state_dict()["0.0.exp_avg"]));
        p.Dispose();
        q.Dispose();
    }

    private static Tensor Det(long[] shape, double offset, double scale, Device dev)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = Enumerable.Range(0, (int)n).Select(i => (float)(Math.Sin(i * 0.731 + offset) * scale)).ToArray();
        return torch.tensor(data, shape, dev);
    }
}
