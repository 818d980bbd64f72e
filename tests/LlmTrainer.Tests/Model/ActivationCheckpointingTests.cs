using LlmTrainer.Model;
using LlmTrainer.Torch;
using Xunit.Abstractions;

namespace LlmTrainer.Tests.Model;

/// <summary>Llama.forward_backward against the plain loss + backward: same loss, same gradients, less memory, no leaks.</summary>
[Collection("torch")]
public sealed class ActivationCheckpointingTests(ITestOutputHelper output)
{
    private static readonly LlamaConfig Small = new(VocabSize: 64, DModel: 32, NLayer: 3, NHead: 4, NKvHead: 2, FfnHidden: 64, BlockSize: 16);

    private static List<(Tensor X, Tensor Y)> Batches(LlamaConfig c, int count, int batchSize, long seed)
    {
        using var gen = new Generator(seed);
        return Enumerable.Range(0, count)
            .Select(_ => (torch.randint(0, c.VocabSize, [batchSize, c.BlockSize], generator: gen),
                          torch.randint(0, c.VocabSize, [batchSize, c.BlockSize], generator: gen)))
            .ToList();
    }

    /// <summary>Losses and parameter gradients of one accumulated step, either way; the CPU RNG starts from the same state.</summary>
    private static (float[] Losses, Dictionary<string, float[]> Grads, byte[] RngAfter) Step(
        Llama model, List<(Tensor X, Tensor Y)> batches, bool checkpointing, byte[] rng, ScalarType? autocast = null)
    {
        using var scope = torch.NewDisposeScope();
        model.zero_grad();
        torch.set_rng_state(rng);
        int k = batches.Count;
        var losses = new List<float>();
        foreach (var (x, y) in batches)
        {
            using var micro = torch.NewDisposeScope();
            Tensor loss;
            if (checkpointing)
                loss = model.forward_backward(x, y, lossScale: 1.0 / k, autocast);
            else
            {
                using (autocast is { } dt ? torch.autocast(DeviceType.CPU, dt) : null)
                    loss = model.loss(x, y);
                (k > 1 ? loss / k : loss).backward();
            }
            losses.Add(loss.item<float>());
        }
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.ToArray<float>());
        model.zero_grad();
        return (losses.ToArray(), grads, torch.get_rng_state());
    }

    private double worst;

    private void AssertSameGradients(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, double tolerance)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            double maxDiff = e.Zip(a, (u, v) => Math.Abs((double)u - v)).Max();
            Assert.True(maxDiff <= tolerance, $"{name}: gradients differ by up to {maxDiff}");
            worst = Math.Max(worst, maxDiff);
        }
    }

    [Theory]
    [InlineData(0.0, false, 1)]
    [InlineData(0.0, true, 1)]
    [InlineData(0.2, false, 1)]
    [InlineData(0.2, true, 3)]
    [InlineData(0.0, false, 4)]
    public void Loss_and_every_gradient_equal_the_plain_backward(double dropout, bool tied, int accumulate)
    {
        torch.manual_seed(11);
        using var model = new Llama(Small with { Dropout = dropout, TieEmbeddings = tied });
        var batches = Batches(Small, accumulate, batchSize: 3, seed: 5);
        try
        {
            var rng = torch.get_rng_state();
            var plain = Step(model, batches, checkpointing: false, rng);
            var recomputed = Step(model, batches, checkpointing: true, rng);
            Assert.Equal(plain.Losses, recomputed.Losses);
            AssertSameGradients(plain.Grads, recomputed.Grads, 1e-6);
            output.WriteLine($"largest gradient difference {worst:G3}");
            // The RNG ends where the plain step leaves it, so the steps after draw the same masks too.
            Assert.Equal(plain.RngAfter, recomputed.RngAfter);
            if (dropout > 0)
            {
                // The masks matter: another draw gives other gradients, so equality above is not luck.
                var other = Step(model, batches, checkpointing: false, plain.RngAfter);
                Assert.NotEqual(plain.Losses, other.Losses);
            }
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }

    [Fact]
    public void Under_autocast_the_gradients_equal_the_plain_autocast_backward()
    {
        torch.manual_seed(12);
        using var model = new Llama(Small with { Dropout = 0.1 });
        var batches = Batches(Small, 2, batchSize: 2, seed: 6);
        try
        {
            var rng = torch.get_rng_state();
            var plain = Step(model, batches, checkpointing: false, rng, ScalarType.BFloat16);
            var recomputed = Step(model, batches, checkpointing: true, rng, ScalarType.BFloat16);
            Assert.Equal(plain.Losses, recomputed.Losses);
            AssertSameGradients(plain.Grads, recomputed.Grads, 1e-5);
            output.WriteLine($"under bfloat16 autocast: largest gradient difference {worst:G3}");
            var full = Step(model, batches, checkpointing: true, rng);
            Assert.NotEqual(full.Losses, recomputed.Losses); // autocast was in effect
        }
        finally
        {
            foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        }
    }

    [Fact]
    public void Peak_cpu_memory_is_well_below_the_plain_backward()
    {
        // Many layers over a long sequence and a small vocabulary: the layers' activations dominate.
        var c = new LlamaConfig(VocabSize: 64, DModel: 64, NLayer: 8, NHead: 4, NKvHead: 4, FfnHidden: 128, BlockSize: 256);
        torch.manual_seed(13);
        using var model = new Llama(c);
        var (x, y) = Batches(c, 1, batchSize: 4, seed: 7)[0];
        long Peak(bool checkpointing)
        {
            model.zero_grad();
            long before = torch.cpu.memory_allocated();
            torch.cpu.reset_peak_memory_stats();
            using (var scope = torch.NewDisposeScope())
            {
                if (checkpointing) model.forward_backward(x, y);
                else model.loss(x, y).backward();
            }
            long peak = torch.cpu.max_memory_allocated() - before;
            model.zero_grad();
            return peak;
        }
        try
        {
            Peak(false); // first steps allocate lazily created state (caches, pools)
            Peak(true);
            long plain = Peak(false), recomputed = Peak(true);
            output.WriteLine($"peak above the weights: {plain / 1048576.0:F1} MiB plain, {recomputed / 1048576.0:F1} MiB with checkpointing");
            Assert.True(recomputed < 0.5 * plain, $"peak with checkpointing {recomputed / 1048576.0:F1} MiB, without {plain / 1048576.0:F1} MiB");
        }
        finally
        {
            x.Dispose();
            y.Dispose();
        }
    }

    [Fact]
    public void Steps_leave_the_live_handle_count_constant()
    {
        torch.manual_seed(14);
        using var model = new Llama(Small with { Dropout = 0.1 });
        using var opt = new optim.AdamW(model.parameters(), lr: 1e-3);
        void Step()
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            var x = torch.randint(0, Small.VocabSize, [2, Small.BlockSize]);
            var y = torch.randint(0, Small.VocabSize, [2, Small.BlockSize]);
            model.forward_backward(x, y, lossScale: 0.5);
            model.forward_backward(x, y, lossScale: 0.5);
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
        }
        Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        for (int i = 0; i < 10; i++) Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
    }
}
