using LlmTrainer.Sampling;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

[Collection("torch")]
public sealed class LogitsProcessorsTests
{
    private static Tensor LogitsOf(params double[] probs) => torch.tensor(probs.Select(p => (float)Math.Log(p)).ToArray(), [1, probs.Length]);

    private static int[] Kept(Tensor filtered) =>
        filtered.isfinite().squeeze(0).to(ScalarType.Int64).ToArray<long>().Select((k, i) => (k, i)).Where(x => x.k == 1).Select(x => x.i).ToArray();

    [Theory]
    [InlineData(0.7, new[] { 0, 1 })]           // 0.5 + 0.2 reaches 0.7
    [InlineData(0.71, new[] { 0, 1, 2 })]
    [InlineData(0.85, new[] { 0, 1, 2 })]       // 0.5 + 0.2 + 0.15 reaches 0.85
    [InlineData(0.86, new[] { 0, 1, 2, 3 })]
    [InlineData(0.5, new[] { 0 })]
    [InlineData(0.1, new[] { 0 })]              // never less than one token
    [InlineData(1.0, new[] { 0, 1, 2, 3, 4 })]
    public void Top_p_keeps_the_smallest_set_that_reaches_p(double p, int[] expected)
    {
        using var scope = torch.NewDisposeScope();
        // Shuffled, so the kept set is found by rank, not position.
        var probs = new[] { 0.1, 0.5, 0.05, 0.2, 0.15 };
        var rank = new[] { 1, 3, 4, 0, 2 }; // positions of 0.5, 0.2, 0.15, 0.1, 0.05
        var filtered = LogitsProcessors.TopP(LogitsOf(probs), p);
        Assert.Equal(expected.Select(i => rank[i]).Order(), Kept(filtered));
        // Kept logits are unchanged.
        var logits = LogitsOf(probs);
        Assert.True(torch.where(filtered.isfinite(), filtered, logits).equal(logits));
    }

    [Fact]
    public void Top_p_filters_each_row_on_its_own()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.cat([LogitsOf(0.5, 0.2, 0.15, 0.1, 0.05), LogitsOf(0.05, 0.1, 0.15, 0.2, 0.5)], 0);
        var filtered = LogitsProcessors.TopP(logits, 0.85);
        Assert.Equal([0, 1, 2], Kept(filtered.narrow(0, 0, 1)));
        Assert.Equal([2, 3, 4], Kept(filtered.narrow(0, 1, 1)));
    }

    [Theory]
    [InlineData(1, new[] { 3 })]
    [InlineData(2, new[] { 1, 3 })]
    [InlineData(4, new[] { 0, 1, 3, 4 })]
    [InlineData(5, new[] { 0, 1, 2, 3, 4 })]
    [InlineData(50, new[] { 0, 1, 2, 3, 4 })]
    public void Top_k_keeps_the_k_largest(int k, int[] expected)
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new[] { 0.5f, 2f, -3f, 4f, 0.1f }, [1, 5]);
        var filtered = LogitsProcessors.TopK(logits, k);
        Assert.Equal(expected, Kept(filtered));
        Assert.True(torch.where(filtered.isfinite(), filtered, logits).equal(logits));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_other_seen_logits()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new[] { 2f, -1f, 3f, 0f, -2f, 1.5f }, [1, 6]);
        var seen = LogitsProcessors.SeenMask(1, 6, [0, 1, 3, 0], Device.CPU);
        var penalised = LogitsProcessors.RepetitionPenalty(logits, seen, 2.0).ToArray<float>();
        Assert.Equal([1f, -2f, 3f, 0f, -2f, 1.5f], penalised);

        LogitsProcessors.MarkSeen(seen, [5L]);
        Assert.Equal([1f, -2f, 3f, 0f, -2f, 0.75f], LogitsProcessors.RepetitionPenalty(logits, seen, 2.0).ToArray<float>());
        // A penalty below 1 encourages repetition, by the same formula.
        Assert.Equal([4f, -0.5f, 3f, 0f, -2f, 3f], LogitsProcessors.RepetitionPenalty(logits, seen, 0.5).ToArray<float>());
    }

    [Fact]
    public void Temperature_divides_and_greedy_takes_the_argmax()
    {
        using var scope = torch.NewDisposeScope();
        var logits = torch.tensor(new[] { 1f, 4f, -2f, 3f, 0f, 0f }, [2, 3]);
        Assert.Equal([0.5f, 2f, -1f, 1.5f, 0f, 0f], LogitsProcessors.Temperature(logits, 2).ToArray<float>());
        Assert.Equal([1L, 0L], LogitsProcessors.Greedy(logits).ToArray<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => LogitsProcessors.Temperature(logits, 0));
    }
}
