using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Torch.Tests;

/// <summary>
/// The fused CPU kernels at sizes where they split work across threads and vector lanes, against libtorch's own ops
/// (which OpsTests checks against PyTorch): the same values and gradients, errors and NaN behaviour.
/// </summary>
public sealed class FusedKernelTests
{
    private delegate Tensor Op(Tensor[] inputs);

    /// <summary>Runs op with the fused kernels on and off; returns (output, gradients) of both as float arrays.</summary>
    private static (float[] Out, float[][] Grads)[] BothWays(Func<Tensor[]> makeInputs, Op op, int gradInputs)
    {
        bool before = torch.fused_kernels;
        var results = new (float[], float[][])[2];
        try
        {
            foreach (var fused in new[] { true, false })
            {
                torch.fused_kernels = fused;
                using var scope = torch.NewDisposeScope();
                torch.manual_seed(7);
                var inputs = makeInputs();
                for (int i = 0; i < gradInputs; i++) inputs[i].requires_grad_();
                var y = op(inputs);
                var w = torch.randn(y.shape, generator: null);
                (y * w).sum().backward();
                results[fused ? 0 : 1] = (y.detach().contiguous().ToArray<float>(),
                    inputs.Take(gradInputs).Select(t => t.grad!.contiguous().ToArray<float>()).ToArray());
            }
        }
        finally
        {
            torch.fused_kernels = before;
        }
        return results;
    }

    private static void AssertClose(float[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-6, expected.Max(v => Math.Abs(v)));
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tol * scale, $"{what}: fused and libtorch differ by {worst:g3} (scale {scale:g3})");
    }

    private static void Compare(Func<Tensor[]> inputs, Op op, int gradInputs, double tol = 2e-5)
    {
        var r = BothWays(inputs, op, gradInputs);
        AssertClose(r[1].Out, r[0].Out, tol, "output");
        for (int i = 0; i < gradInputs; i++) AssertClose(r[1].Grads[i], r[0].Grads[i], tol, $"gradient {i}");
    }

    [Fact]
    public void Rms_norm_over_many_rows_matches_libtorch()
        => Compare(() => [torch.randn([40, 50, 72]) * 3, torch.randn([72]) + 1], x => F.rms_norm(x[0], x[1], 1e-5), 2);

    [Fact]
    public void Swiglu_matches_libtorch_including_large_activations()
        => Compare(() => [torch.randn([3000, 50]) * 12, torch.randn([3000, 50])], x => F.swiglu(x[0], x[1]), 2);

    [Fact]
    public void Rotary_embedding_of_a_transposed_projection_matches_libtorch()
        => Compare(() => [torch.randn([3, 33, 4, 16]), torch.randn([33, 16]), torch.randn([33, 16])],
                   x => F.apply_rotary_emb(x[0].transpose(1, 2), x[1], x[2]), 1);

    [Theory]
    [InlineData(nn.Reduction.Mean)]
    [InlineData(nn.Reduction.Sum)]
    [InlineData(nn.Reduction.None)]
    public void Cross_entropy_over_a_wide_vocabulary_matches_libtorch(nn.Reduction reduction)
        => Compare(() =>
        {
            var targets = torch.randint(0, 1000, [300]);
            targets.narrow(0, 10, 5).fill_(-100); // ignored positions
            return [torch.randn([300, 1000]) * 20, targets];
        }, x => F.cross_entropy(x[0], x[1], reduction: reduction), 1);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cross_entropy_rejects_a_target_out_of_range_either_way(bool fused)
    {
        bool before = torch.fused_kernels;
        torch.fused_kernels = fused;
        try
        {
            using var scope = torch.NewDisposeScope();
            var e = Assert.Throws<TorchException>(() => F.cross_entropy(torch.zeros([4, 10]), torch.tensor(new long[] { 1, 2, 10, 3 }, [4])));
            Assert.Contains("out of bounds", e.Message);
        }
        finally
        {
            torch.fused_kernels = before;
        }
    }

    [Fact]
    public void A_non_finite_logit_makes_the_loss_nan_as_in_libtorch()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.zeros([3, 40]);
        logits.narrow(0, 1, 1).narrow(1, 5, 1).fill_(double.NaN);
        var targets = torch.tensor(new long[] { 1, 2, 3 }, [3]);
        Assert.True(double.IsNaN(F.cross_entropy(logits, targets).item<float>()));
        logits.narrow(0, 1, 1).narrow(1, 5, 1).fill_(double.PositiveInfinity);
        Assert.True(double.IsNaN(F.cross_entropy(logits, targets).item<float>()));
    }

    [Fact]
    public void The_switch_reads_back_and_defaults_to_on()
    {
        Assert.True(torch.fused_kernels);
        torch.fused_kernels = false;
        Assert.False(torch.fused_kernels);
        torch.fused_kernels = true;
        Assert.True(torch.fused_kernels);
    }
}
