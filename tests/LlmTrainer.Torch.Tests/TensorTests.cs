using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

/// <summary>Creation, dtypes, copies and metadata.</summary>
public sealed class TensorTests
{
    [Fact]
    public void Creation_functions_give_the_requested_shape_dtype_and_values()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(new float[] { 0, 0, 0, 0 }, torch.zeros([2, 2]).ToArray<float>());
        Assert.Equal(new long[] { 1, 1 }, torch.ones([2], ScalarType.Int64).ToArray<long>());
        Assert.Equal(new float[] { 1.5f, 1.5f }, torch.full([2], 1.5).ToArray<float>());
        Assert.Equal(new long[] { 0, 1, 2, 3 }, torch.arange(4).ToArray<long>());
        Assert.Equal([2L, 3L], torch.empty([2, 3]).shape);
        Assert.Equal(ScalarType.BFloat16, torch.zeros([2], ScalarType.BFloat16).dtype);
        Assert.Equal(ScalarType.Float16, torch.zeros([2], ScalarType.Float16).dtype);
        Assert.Equal(ScalarType.Int16, torch.zeros([2], ScalarType.Int16).dtype);
        Assert.Equal(ScalarType.Byte, torch.zeros([2], ScalarType.Byte).dtype);
        Assert.Equal(ScalarType.Bool, torch.tensor(new[] { true, false }).dtype);
        Assert.Equal(new long[] { 65535, 7 }, torch.tensor(new ushort[] { 65535, 7 }).ToArray<long>());
        Assert.Equal(new int[] { 3, -4 }, torch.tensor(new[] { 3, -4 }).ToArray<int>());
        var r = torch.randint(5, 9, [1000]).ToArray<long>();
        Assert.True(r.All(v => v is >= 5 and < 9));
        Assert.Equal(Device.CPU, torch.ones([1]).device);
    }

    [Fact]
    public void Bincount_counts_each_value_with_at_least_minlength_bins()
    {
        using var scope = torch.NewDisposeScope();
        var values = torch.tensor(new long[] { 3, 1, 3 });
        Assert.Equal(new long[] { 0, 1, 0, 2, 0 }, values.bincount(minlength: 5).ToArray<long>());
        Assert.Equal(new long[] { 0, 1, 0, 2 }, values.bincount().ToArray<long>());
        Assert.Equal(new long[] { 0, 0 }, torch.zeros([0], ScalarType.Int64).bincount(minlength: 2).ToArray<long>());
    }

    [Fact]
    public void Floor_division_by_an_integer_stays_integral_and_rounds_down()
    {
        using var scope = torch.NewDisposeScope();
        var q = torch.tensor(new long[] { 7, -3, 4 }).floor_divide(2);
        Assert.Equal(ScalarType.Int64, q.dtype);
        Assert.Equal(new long[] { 3, -2, 2 }, q.ToArray<long>());
    }

    [Fact]
    public void Autograd_backward_from_two_roots_sums_their_gradients()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 2, 3 }).requires_grad_();
        var y = x * x;                 // a vector root with its gradient
        var s = (x * 4).sum();         // a scalar root: its gradient is one
        torch.autograd.backward([y, s], [torch.tensor(new float[] { 1, 0, 2 }), null]);
        Assert.Equal(new float[] { 2 * 1 + 4, 0 + 4, 2 * 3 * 2 + 4 }, x.grad!.ToArray<float>());
        Assert.Throws<ArgumentException>(() => torch.autograd.backward([y], []));
    }

    [Fact]
    public void Pinned_memory_needs_cuda_and_keeps_the_values()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(6);
        Assert.False(t.is_pinned());
        if (!torch.cuda.is_available())
        {
            Assert.Throws<TorchException>(() => t.pin_memory());
            return;
        }
        var pinned = t.pin_memory();
        Assert.True(pinned.is_pinned());
        Assert.Equal(t.ToArray<long>(), pinned.to(Device.CUDA(0), non_blocking: true).cpu().ToArray<long>());
    }

    [Fact]
    public void Integer_tensor_plus_integer_scalar_stays_integral()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.arange(3) + 2;
        Assert.Equal(ScalarType.Int64, t.dtype);
        Assert.Equal(ScalarType.Float32, (torch.arange(3) + 0.5).dtype);
    }

    [Fact]
    public void In_place_ops_change_the_tensor()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.ones([3]);
        t.add_(torch.ones([3]), alpha: 2).mul_(2);
        Assert.Equal(new float[] { 6, 6, 6 }, t.ToArray<float>());
        t.fill_(4).sub_(1).div_(3);
        Assert.Equal(new float[] { 1, 1, 1 }, t.ToArray<float>());
        t.copy_(torch.tensor(new float[] { 1, 2, 3 }));
        t.zero_();
        Assert.Equal(0f, t.sum().item<float>());
        t.CopyFrom<float>([7, 8, 9]);
        Assert.Equal(new float[] { 7, 8, 9 }, t.ToArray<float>());
    }

    [Fact]
    public void Conversions_and_predicates()
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(new float[] { 1, float.NaN, float.PositiveInfinity });
        Assert.Equal(new[] { true, false, false }, t.isfinite().ToArray<bool>());
        Assert.Equal(new[] { false, true, false }, t.isnan().ToArray<bool>());
        Assert.False(t.isfinite().all().item<bool>());
        Assert.True(t.isnan().any().item<bool>());
        var h = torch.tensor(new float[] { 1.5f, -2 }).to(ScalarType.BFloat16).to(ScalarType.Float32);
        Assert.Equal(new float[] { 1.5f, -2 }, h.ToArray<float>());
        Assert.Equal(new long[] { 1, 2 }, torch.tensor(new float[] { 1, 9, 3 }).topk(2).indices.ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 1 }, torch.tensor(new float[] { 5, 1, 3 }).sort(descending: true).indices.ToArray<long>());
        Assert.Equal(1L, torch.tensor(new float[] { 1, 9, 3 }).argmax().item<long>());
        Assert.Throws<InvalidOperationException>(() => torch.ones([2]).ToArray<long>());
    }

    [Fact]
    public void Build_info_names_the_libtorch_version_and_threads_default_to_all_cores()
    {
        var info = System.Text.Json.JsonDocument.Parse(torch.build_info()).RootElement;
        Assert.Matches(@"^\d+\.\d+\.\d+$", info.GetProperty("torch_version").GetString());
        Assert.Equal(torch.cuda.is_available() || info.GetProperty("cuda").GetBoolean(), info.GetProperty("cuda").GetBoolean());
        if (Environment.GetEnvironmentVariable("LLMTRAIN_THREADS") is null && Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
            Assert.Equal(Environment.ProcessorCount, torch.get_num_threads());
    }
}
