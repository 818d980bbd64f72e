using LlmTrainer.Evaluation;

namespace LlmTrainer.Tests.Evaluation;

public sealed class EvalWindowsTests
{
    private static List<(long Start, int Length)> All(EvalWindows w) =>
        Enumerable.Range(0, (int)w.Count).Select(i => w[i]).ToList();

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 0, 0)] // one token: nothing to predict it from
    [InlineData(2, 1, 1)]
    [InlineData(5, 4, 1)] // shorter than T + 1: one short window
    [InlineData(9, 8, 1)] // exactly T + 1: one full window
    [InlineData(10, 9, 2)] // one past: a second window of one target
    [InlineData(25, 24, 3)] // k·T + 1: k full windows
    [InlineData(26, 25, 4)]
    public void A_stream_of_n_tokens_predicts_n_minus_1_in_ceil_windows(long n, long targets, long windows)
    {
        var w = new EvalWindows(n, blockSize: 8);
        Assert.Equal(targets, w.Targets);
        Assert.Equal(windows, w.Count);
        Assert.Equal(targets, All(w).Sum(x => x.Length));
    }

    [Fact]
    public void Windows_overlap_by_one_token_so_every_token_but_the_first_is_a_target_once()
    {
        var w = new EvalWindows(30, blockSize: 8);
        Assert.Equal([(0L, 8), (8L, 8), (16L, 8), (24L, 5)], All(w));
        var predicted = All(w).SelectMany(x => Enumerable.Range((int)x.Start + 1, x.Length)).ToList();
        Assert.Equal(Enumerable.Range(1, 29), predicted);
        // The last window reads up to the last token and no further.
        var (start, length) = w[w.Count - 1];
        Assert.Equal(30, start + length + 1);
    }

    [Theory]
    [InlineData(30, 13, 13, 2)] // cut inside the second window
    [InlineData(30, 16, 16, 2)] // cut at a window boundary
    [InlineData(30, 100, 29, 4)] // more than the stream has
    [InlineData(5, 3, 3, 1)]
    [InlineData(30, 0, 0, 0)]
    public void Max_tokens_caps_the_predictions(long n, long max, long targets, long windows)
    {
        var w = new EvalWindows(n, blockSize: 8, maxTokens: max);
        Assert.Equal(targets, w.Targets);
        Assert.Equal(windows, w.Count);
        Assert.Equal(targets, All(w).Sum(x => x.Length));
        if (w.Count > 0)
            Assert.Equal(targets - (w.Count - 1) * 8, w[w.Count - 1].Length);
    }

    [Fact]
    public void A_block_of_one_predicts_each_token_in_its_own_window()
    {
        var w = new EvalWindows(4, blockSize: 1);
        Assert.Equal([(0L, 1), (1L, 1), (2L, 1)], All(w));
    }

    [Fact]
    public void Bad_arguments_and_indices_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalWindows(-1, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalWindows(10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvalWindows(10, 8, -1));
        var w = new EvalWindows(10, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => w[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => w[-1]);
    }
}
