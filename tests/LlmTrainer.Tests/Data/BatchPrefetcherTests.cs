using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class BatchPrefetcherTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public BatchPrefetcherTests()
    {
        PreparedFixture.Write(_dir.File("a"), Enumerable.Range(0, 5000).ToArray(), Enumerable.Range(0, 101).ToArray(), 60000, shardTokens: 777);
        PreparedFixture.Write(_dir.File("b"), Enumerable.Range(50000, 3000).ToArray(), Enumerable.Range(0, 50).ToArray(), 60000, shardTokens: 1000);
    }

    public void Dispose() => _dir.Dispose();

    private static void AssertSame(Batch expected, Batch actual)
    {
        Assert.Equal(expected.X, actual.X);
        Assert.Equal(expected.Y, actual.Y);
    }

    [Theory]
    [InlineData(SamplingMode.Random)]
    [InlineData(SamplingMode.Sequential)]
    public void Yields_exactly_the_plain_loaders_batches_with_its_cursor_before_the_batch_drawn_ahead(SamplingMode mode)
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        MixtureComponent[] mixture = [new(a, 0.7), new(b, 0.3)];
        var plain = new DataLoader(mixture, mode, seed: 3);
        using var prefetcher = new BatchPrefetcher(new DataLoader(mixture, mode, seed: 3));
        Assert.Equal(plain.Cursor, prefetcher.Cursor, CursorComparer.Instance);
        for (int i = 0; i < 40; i++)
        {
            AssertSame(plain.GetBatch(4, 96), prefetcher.Next(4, 96));
            // The next batch is already being drawn, yet the cursor is where the plain loader stands.
            Assert.Equal(plain.Cursor, prefetcher.Cursor, CursorComparer.Instance);
        }
    }

    [Fact]
    public void Restoring_a_cursor_saved_mid_run_continues_with_the_same_batches()
    {
        using var ds = TokenDataset.Open(_dir.File("a"));
        using var first = new BatchPrefetcher(new DataLoader(ds, SamplingMode.Random, seed: 8));
        for (int i = 0; i < 7; i++) first.Next(8, 64);
        var saved = first.Cursor;
        var expected = Enumerable.Range(0, 10).Select(_ => first.Next(8, 64)).ToList();

        using var resumed = new BatchPrefetcher(new DataLoader(ds, SamplingMode.Random, seed: 999));
        resumed.Next(8, 64); // a batch drawn ahead before the restore is dropped
        resumed.Restore(saved);
        foreach (var batch in expected) AssertSame(batch, resumed.Next(8, 64));
    }

    [Fact]
    public void Another_shape_drops_the_batch_drawn_ahead_and_draws_from_the_same_position()
    {
        using var ds = TokenDataset.Open(_dir.File("a"));
        var plain = new DataLoader(ds, SamplingMode.Random, seed: 4);
        using var prefetcher = new BatchPrefetcher(new DataLoader(ds, SamplingMode.Random, seed: 4));
        AssertSame(plain.GetBatch(8, 64), prefetcher.Next(8, 64));
        AssertSame(plain.GetBatch(2, 32), prefetcher.Next(2, 32));
        AssertSame(plain.GetBatch(2, 32), prefetcher.Next(2, 32));
        Assert.Equal(plain.Cursor, prefetcher.Cursor, CursorComparer.Instance);
    }

    [Fact]
    public void A_loader_error_surfaces_when_its_batch_is_taken()
    {
        using var ds = TokenDataset.Open(_dir.File("a"), "val"); // 101 tokens
        using var prefetcher = new BatchPrefetcher(new DataLoader(ds, SamplingMode.Random, seed: 1));
        var e = Assert.Throws<LlmTrainerException>(() => prefetcher.Next(2, 200));
        Assert.Contains("block_size", e.Message);
    }

    /// <summary>DataCursor holds lists, which records compare by reference.</summary>
    private sealed class CursorComparer : IEqualityComparer<DataCursor>
    {
        public static readonly CursorComparer Instance = new();

        public bool Equals(DataCursor? x, DataCursor? y) =>
            x is not null && y is not null && x.Mode == y.Mode && x.Rng == y.Rng && x.Batches == y.Batches
            && x.Positions.SequenceEqual(y.Positions) && x.Epochs.SequenceEqual(y.Epochs);

        public int GetHashCode(DataCursor obj) => obj.Rng.GetHashCode(StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SamplingMode.Random)]
    [InlineData(SamplingMode.Sequential)]
    public void New_weights_drop_the_batch_drawn_ahead_and_give_the_plain_loaders_batches(SamplingMode mode)
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        MixtureComponent[] mixture = [new(a, 1), new(b, 0)];
        var plain = new DataLoader(mixture, mode, seed: 6);
        using var prefetcher = new BatchPrefetcher(new DataLoader(mixture, mode, seed: 6));
        for (int i = 0; i < 5; i++) AssertSame(plain.GetBatch(4, 32), prefetcher.Next(4, 32));
        plain.SetWeights([0.2, 0.8]);
        prefetcher.SetWeights([0.2, 0.8]); // the batch drawn ahead came from a alone
        Assert.Equal(plain.Cursor, prefetcher.Cursor, CursorComparer.Instance);
        for (int i = 0; i < 20; i++) AssertSame(plain.GetBatch(4, 32), prefetcher.Next(4, 32));
    }
}
