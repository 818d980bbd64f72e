using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

[Collection("torch")]
public sealed class KvCacheTests
{
    private static Llama Model(int nHead, int nKvHead, bool tied = false, int block = 16, long seed = 7, Device? device = null, int experts = 0)
    {
        torch.manual_seed(seed);
        var model = new Llama(new LlamaConfig(61, 32, 2, nHead, nKvHead, 48, block, TieEmbeddings: tied, NExperts: experts, ExpertsPerToken: 2,
            MoeCapacityFactor: experts > 0 ? 0.5 : 0), device); // a capacity that would drop tokens in training, not here
        model.eval();
        return model;
    }

    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData(4, 2, false, 0)] // grouped KV heads
    [InlineData(4, 1, true, 0)]  // multi-query, tied embeddings
    [InlineData(4, 4, false, 0)] // multi-head
    [InlineData(4, 2, false, 4)] // a mixture of experts: a token's experts do not depend on the others in its batch
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Cached_logits_equal_full_recomputation_at_every_position(int nHead, int nKvHead, bool tied, int experts)
    {
        var device = TestDevice.Current;
        double tol = TestDevice.Tolerance(1e-5, 1e-4);
        using var model = Model(nHead, nKvHead, tied, device: device, experts: experts);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var idx = torch.randint(0, 61, [3, 14]).to(device);
        var full = model.forward(idx);

        model.setup_cache(3);
        Assert.Equal(3, model.CacheBatchSize);
        // A prefill of 5 positions, then one position at a time, then a chunk of 3 at a later position.
        var prefill = model.forward(idx.narrow(1, 0, 5), 0);
        Assert.True(MaxDiff(prefill, full.narrow(1, 0, 5)) < tol);
        for (int pos = 5; pos < 11; pos++)
        {
            var step = model.forward(idx.narrow(1, pos, 1), pos);
            Assert.Equal([3L, 1, 61], step.shape);
            double d = MaxDiff(step, full.narrow(1, pos, 1));
            Assert.True(d < tol, $"position {pos}: cached logits differ from the full forward by {d}");
        }
        var chunk = model.forward(idx.narrow(1, 11, 3), 11);
        Assert.True(MaxDiff(chunk, full.narrow(1, 11, 3)) < tol);
        var last = model.forward(idx.narrow(1, 11, 3), 11, lastOnly: true);
        Assert.True(MaxDiff(last, full.narrow(1, 13, 1)) < tol);
        model.clear_cache();
        Assert.Equal(0, model.CacheBatchSize);
    }

    [Fact]
    public void The_training_forward_ignores_a_cache_that_is_set_up()
    {
        using var model = Model(4, 2);
        using var scope = torch.NewDisposeScope();
        var idx = torch.randint(0, 61, [2, 9]);
        Tensor before;
        using (torch.no_grad()) before = model.forward(idx);
        using (torch.inference_mode())
        {
            model.setup_cache(2);
            model.forward(torch.randint(0, 61, [2, 4]), 0);
        }
        using (torch.no_grad()) Assert.True(model.forward(idx).equal(before));
        Assert.True(model.forward(idx, null).equal(before));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Reordering_the_cache_moves_rows_as_beam_search_needs(int experts)
    {
        using var model = Model(4, 2, experts: experts);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var idx = torch.randint(0, 61, [2, 8]);
        model.setup_cache(2);
        model.forward(idx.narrow(1, 0, 6), 0);
        model.reorder_cache(torch.tensor(new long[] { 1, 1 }));
        // Both rows now continue row 1's prefix.
        var rowOne = idx.narrow(0, 1, 1).narrow(1, 0, 6).expand(2, 6);
        var next = torch.tensor(new long[] { 5, 9 }, [2, 1]);
        var cached = model.forward(next, 6);
        var full = model.forward(torch.cat([rowOne, next], 1)).narrow(1, 6, 1);
        Assert.True(MaxDiff(cached, full) < 1e-5);
    }

    [Fact]
    public void Misuse_is_reported_plainly()
    {
        using var model = Model(4, 2, block: 8);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        var idx = torch.randint(0, 61, [1, 4]);
        Assert.Throws<InvalidOperationException>(() => model.forward(idx, 0));
        model.setup_cache(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.forward(idx, 5));
        Assert.Throws<ArgumentException>(() => model.forward(torch.randint(0, 61, [2, 4]), 0));
    }
}
