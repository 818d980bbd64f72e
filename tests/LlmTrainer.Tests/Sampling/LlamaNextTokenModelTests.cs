using LlmTrainer.Model;
using LlmTrainer.Sampling;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

[Collection("torch")]
public sealed class LlamaNextTokenModelTests
{
    private static Llama Model(int block, long seed = 7)
    {
        torch.manual_seed(seed);
        var model = new Llama(new LlamaConfig(61, 32, 2, 4, 2, 48, block));
        model.eval();
        return model;
    }

    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void A_sliding_window_continues_past_block_size_and_matches_recomputation_of_the_window()
    {
        const int block = 12;
        using var model = Model(block);
        var next = new LlamaNextTokenModel(model);
        int keep = LlamaNextTokenModel.WindowKeep(block);
        Assert.Equal(9, keep);
        var rng = new Random(3);
        var all = Enumerable.Range(0, 10).Select(_ => rng.Next(61)).ToList();
        var window = new List<int>(all);
        using (var scope = torch.NewDisposeScope())
            Assert.True(MaxDiff(next.Start(all, 2).narrow(0, 0, 1), FullLast(model, window)) < 1e-5);
        int slides = 0;
        for (int step = 0; step < 20; step++)
        {
            using var scope = torch.NewDisposeScope();
            int token = rng.Next(61);
            all.Add(token);
            window.Add(token);
            if (window.Count > block)
            {
                window = all.Skip(all.Count - keep).ToList();
                slides++;
            }
            var logits = next.Append([token, token]);
            Assert.Equal(window, next.Window(0));
            double d = MaxDiff(logits.narrow(0, 0, 1), FullLast(model, window));
            Assert.True(d < 1e-5, $"step {step}: logits differ from a full forward over the window by {d}");
        }
        Assert.Equal(slides, next.WindowSlides);
        Assert.True(slides >= 2);
        next.Reset();
        Assert.Equal(0, model.CacheBatchSize);
    }

    private static Tensor FullLast(Llama model, List<int> window)
    {
        using var _ = torch.no_grad();
        var logits = model.forward(torch.tensor(window.Select(t => (long)t).ToArray(), [1, window.Count]));
        return logits.select(1, window.Count - 1);
    }
}
