using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class DataLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DataLoaderTests()
    {
        // Token i at position i: every window reveals where it starts.
        PreparedFixture.Write(_dir.File("a"), Enumerable.Range(0, 5000).ToArray(), Enumerable.Range(0, 101).ToArray(), 60000, shardTokens: 777);
        PreparedFixture.Write(_dir.File("b"), Enumerable.Range(50000, 3000).ToArray(), Enumerable.Range(0, 50).ToArray(), 60000, shardTokens: 1000);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void RandomWindows_AreSlices_AndYIsXShiftedByOne()
    {
        using var ds = TokenDataset.Open(_dir.File("a"));
        var loader = new DataLoader(ds, SamplingMode.Random, seed: 5);
        bool crossedShard = false;
        for (int b = 0; b < 50; b++)
        {
            var batch = loader.GetBatch(8, 64);
            for (int r = 0; r < 8; r++)
            {
                var x = batch.X.AsSpan(r * 64, 64);
                var y = batch.Y.AsSpan(r * 64, 64);
                long start = x[0];
                Assert.InRange(start, 0, 5000 - 65);
                for (int t = 0; t < 64; t++)
                {
                    Assert.Equal(start + t, x[t]);
                    Assert.Equal(x[t] + 1, y[t]);
                }
                crossedShard |= start / 777 != (start + 64) / 777;
            }
        }
        Assert.True(crossedShard, "some windows should span a shard boundary");
        Assert.Equal(50, loader.BatchesDrawn);
    }

    [Fact]
    public void RandomStarts_AreUniform_AndReachTheLastWindow()
    {
        using var ds = TokenDataset.Open(_dir.File("a"), "val");
        var loader = new DataLoader(ds, SamplingMode.Random, seed: 9);
        // 101 tokens, block 85: starts 0..15, each expected 1,000 times in 16,000 rows (σ ≈ 31).
        var counts = new int[16];
        for (int i = 0; i < 1000; i++)
        {
            var batch = loader.GetBatch(16, 85);
            for (int r = 0; r < 16; r++)
                counts[batch.X[r * 85]]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 810, 1190));
    }

    [Fact]
    public void Mixture_FollowsTheWeights()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        var loader = new DataLoader([new MixtureComponent(a, 3), new MixtureComponent(b, 1)], SamplingMode.Random, seed: 11);
        int fromA = 0, rows = 0;
        for (int i = 0; i < 2000; i++)
        {
            var batch = loader.GetBatch(20, 16);
            for (int r = 0; r < 20; r++)
            {
                rows++;
                long first = batch.X[r * 16];
                if (first < 50000)
                    fromA++;
                else
                    Assert.InRange(first, 50000, 53000 - 17);
            }
        }
        // p = 0.75 over 40,000 rows: σ ≈ 0.0022; 5σ bound.
        Assert.InRange(fromA / (double)rows, 0.739, 0.761);
    }

    [Fact]
    public void Sequential_VisitsEveryWindowOncePerEpoch_InAFreshOrderEachEpoch_AndCountsEpochs()
    {
        using var ds = TokenDataset.Open(_dir.File("a"), "val"); // 101 tokens
        var loader = new DataLoader(ds, SamplingMode.Sequential, seed: 3);
        var starts = new List<long>();
        var epochs = new List<long>();
        for (int i = 0; i < 6; i++)
        {
            var batch = loader.GetBatch(5, 10);
            for (int r = 0; r < 5; r++)
            {
                starts.Add(batch.X[r * 10]);
                Assert.Equal(batch.X[r * 10] + 10, batch.Y[r * 10 + 9]);
            }
            epochs.Add(loader.Epochs[0]);
        }
        // Windows of 11 tokens fit at 0, 10, …, 90: ten per pass, each once, in another order every pass.
        long[] pass = Enumerable.Range(0, 10).Select(i => i * 10L).ToArray();
        var passes = starts.Chunk(10).ToList();
        Assert.All(passes, p => Assert.Equal(pass, p.Order()));
        Assert.NotEqual(passes[0], passes[1]);
        Assert.NotEqual(passes[1], passes[2]);
        Assert.NotEqual(pass, passes[0]);
        Assert.Equal([0L, 1, 1, 2, 2, 3], epochs);
        // The same seed gives the same orders; another seed others.
        var again = new DataLoader(ds, SamplingMode.Sequential, seed: 3);
        Assert.Equal(starts[..5], again.GetBatch(5, 10).X.Where((_, i) => i % 10 == 0));
        var other = new DataLoader(ds, SamplingMode.Sequential, seed: 4);
        Assert.NotEqual(starts[..10], other.GetBatch(10, 10).X.Where((_, i) => i % 10 == 0));
    }

    [Fact]
    public void WindowOrder_IsAPermutation_ForEveryCount_AndDependsOnTheKey()
    {
        foreach (long n in Enumerable.Range(1, 130).Select(i => (long)i).Concat([1000, 4097, 65_537]))
        {
            var order = new WindowOrder(n, WindowOrder.Key(7, 0, 0));
            var seen = new bool[n];
            for (long i = 0; i < n; i++)
            {
                long w = order[i];
                Assert.InRange(w, 0, n - 1);
                Assert.False(seen[w], $"window {w} twice for n = {n}");
                seen[w] = true;
            }
        }
        var a = new WindowOrder(1000, WindowOrder.Key(7, 0, 0));
        var b = new WindowOrder(1000, WindowOrder.Key(7, 0, 1));
        var c = new WindowOrder(1000, WindowOrder.Key(7, 1, 0));
        Assert.True(Enumerable.Range(0, 1000).Count(i => a[i] == b[i]) < 20);
        Assert.True(Enumerable.Range(0, 1000).Count(i => a[i] == c[i]) < 20);
    }

    [Theory]
    [InlineData(SamplingMode.Random)]
    [InlineData(SamplingMode.Sequential)]
    public void Cursor_SavedAsJson_RestoresTheSameBatches(SamplingMode mode)
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        MixtureComponent[] mix = [new(a, 0.6), new(b, 0.4)];
        var first = new DataLoader(mix, mode, seed: 123);
        for (int i = 0; i < 7; i++)
            first.GetBatch(4, 300);
        string saved = JsonSerializer.Serialize(first.Cursor);
        var expected = Enumerable.Range(0, 5).Select(_ => first.GetBatch(4, 300)).ToList();

        var resumed = new DataLoader(mix, mode, seed: 999);
        resumed.Restore(JsonSerializer.Deserialize<DataCursor>(saved)!);
        Assert.Equal(7, resumed.BatchesDrawn);
        foreach (var batch in expected)
        {
            var again = resumed.GetBatch(4, 300);
            Assert.Equal(batch.X, again.X);
            Assert.Equal(batch.Y, again.Y);
        }
        Assert.Equal(first.Cursor.Rng, resumed.Cursor.Rng);
        Assert.Equal(first.Epochs, resumed.Epochs);
    }

    [Fact]
    public void SameSeed_SameBatches_DifferentSeed_DifferentBatches()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        Assert.Equal(new DataLoader(a, seed: 1).GetBatch(4, 8).X, new DataLoader(a, seed: 1).GetBatch(4, 8).X);
        Assert.NotEqual(new DataLoader(a, seed: 1).GetBatch(4, 8).X, new DataLoader(a, seed: 2).GetBatch(4, 8).X);
    }

    [Fact]
    public void Restore_RejectsACursorFromOtherSettings()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        var cursor = new DataLoader(a, SamplingMode.Random).Cursor;
        Assert.Contains("sequential", Assert.Throws<LlmTrainerException>(() => new DataLoader(a, SamplingMode.Sequential).Restore(cursor)).Message);
        Assert.Contains("1 dataset(s)", Assert.Throws<LlmTrainerException>(
            () => new DataLoader([new MixtureComponent(a, 1), new MixtureComponent(b, 1)]).Restore(cursor)).Message);
        Assert.Contains("outside", Assert.Throws<LlmTrainerException>(
            () => new DataLoader(a).Restore(cursor with { Positions = [10_000_000] })).Message);
    }

    [Fact]
    public void IntBuffers_ReceiveTheSameTokens()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        var expected = new DataLoader(a, seed: 4).GetBatch(3, 5);
        var x = new int[15];
        var y = new int[15];
        new DataLoader(a, seed: 4).NextBatch(3, 5, x.AsSpan(), y.AsSpan());
        Assert.Equal(expected.X, x.Select(v => (long)v));
        Assert.Equal(expected.Y, y.Select(v => (long)v));
        Assert.Throws<ArgumentException>(() => new DataLoader(a).NextBatch(3, 5, new int[14].AsSpan(), y.AsSpan()));
    }

    [Fact]
    public void TooLittleData_ForTheBlockSize_IsAClearError()
    {
        using var val = TokenDataset.Open(_dir.File("b"), "val"); // 50 tokens
        var e = Assert.Throws<LlmTrainerException>(() => new DataLoader(val).GetBatch(1, 50));
        Assert.Contains("fewer than block_size + 1 = 51", e.Message);
        Assert.Equal(50, new DataLoader(val).GetBatch(1, 49).X.Length + 1);
    }

    [Fact]
    public void InvalidWeights_AreRejected()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        Assert.Throws<LlmTrainerException>(() => new DataLoader([new MixtureComponent(a, 0)]));
        Assert.Throws<LlmTrainerException>(() => new DataLoader([new MixtureComponent(a, double.NaN)]));
        Assert.Throws<LlmTrainerException>(() => new DataLoader(Array.Empty<MixtureComponent>()));
    }

    [Theory]
    [InlineData(SamplingMode.Random)]
    [InlineData(SamplingMode.Sequential)]
    public void New_weights_apply_from_the_next_batch_and_a_dataset_of_weight_zero_is_not_drawn_and_keeps_its_place(SamplingMode mode)
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        var loader = new DataLoader([new MixtureComponent(a, 1), new MixtureComponent(b, 0)], mode, seed: 4);
        bool FromA(long first) => first < 50000;
        for (int i = 0; i < 50; i++)
            Assert.All(Enumerable.Range(0, 8), r => Assert.True(FromA(loader.GetBatch(8, 16).X[r * 16])));
        var bPlace = (loader.Positions[1], loader.Epochs[1]);
        Assert.Equal((0L, 0L), bPlace);

        loader.SetWeights([0, 1]);
        var aPlace = (loader.Positions[0], loader.Epochs[0]);
        for (int i = 0; i < 50; i++)
        {
            var batch = loader.GetBatch(8, 16);
            Assert.All(Enumerable.Range(0, 8), r => Assert.False(FromA(batch.X[r * 16])));
        }
        Assert.Equal(aPlace, (loader.Positions[0], loader.Epochs[0]));

        // Back to a mixture: both are drawn again, in proportion.
        loader.SetWeights([1, 1]);
        int fromA = 0;
        for (int i = 0; i < 200; i++)
        {
            var batch = loader.GetBatch(8, 16);
            fromA += Enumerable.Range(0, 8).Count(r => FromA(batch.X[r * 16]));
        }
        Assert.InRange(fromA / 1600.0, 0.45, 0.55); // σ ≈ 0.0125
    }

    [Fact]
    public void Weights_that_cannot_be_drawn_from_are_refused()
    {
        using var a = TokenDataset.Open(_dir.File("a"));
        using var b = TokenDataset.Open(_dir.File("b"));
        var loader = new DataLoader([new MixtureComponent(a, 1), new MixtureComponent(b, 1)]);
        Assert.Contains("at least one dataset of positive weight", Assert.Throws<LlmTrainerException>(() => loader.SetWeights([0, 0])).Message);
        Assert.Throws<LlmTrainerException>(() => loader.SetWeights([1, -1]));
        Assert.Throws<LlmTrainerException>(() => loader.SetWeights([1, double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => loader.SetWeights([1]));
    }
}
