using System.Net;
using System.Net.Sockets;
using static LlmTrainer.Torch.torch.distributed;

namespace LlmTrainer.Torch.Tests;

/// <summary>
/// torch.distributed over c10d with Gloo: ranks are threads of this process, each with its own store connection and
/// process group, as the ranks of a real job are processes.
/// </summary>
public sealed class DistributedTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <paramref name="body"/> as every rank of a Gloo group, each on its own thread; rethrows a rank's failure.</summary>
    private static T[] OnRanks<T>(int size, Func<ProcessGroup, T> body)
    {
        int port = FreePort();
        var results = new T[size];
        var errors = new Exception?[size];
        using var server = new TCPStore("127.0.0.1", port, true, Timeout);
        var threads = Enumerable.Range(0, size).Select(rank => new Thread(() =>
        {
            try
            {
                using var store = new TCPStore("127.0.0.1", port, false, Timeout);
                using var group = new ProcessGroup(store, "test", Backend.Gloo, rank, size, Timeout, "127.0.0.1");
                using var scope = torch.NewDisposeScope();
                results[rank] = body(group);
            }
            catch (Exception e)
            {
                errors[rank] = e;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a rank did not finish"));
        foreach (var e in errors)
            if (e is not null) throw new Xunit.Sdk.XunitException($"a rank failed: {e}");
        return results;
    }

    [Fact]
    public void Gloo_is_available_in_this_build() => Assert.True(is_backend_available(Backend.Gloo));

    [Fact]
    public void All_reduce_sums_and_maxes_and_broadcast_copies_rank_0()
    {
        var results = OnRanks(3, g =>
        {
            using var a = torch.tensor([g.rank + 1f, 10f * g.rank], [2]);
            g.all_reduce(ReduceOp.SUM, a);
            using var m = torch.tensor([(double)g.rank], [1]);
            g.all_reduce(ReduceOp.MAX, m);
            using var b = torch.full([3], g.rank == 0 ? 7.0 : -1.0);
            g.broadcast([b], 0);
            g.barrier();
            return (Sum: a.ToArray<float>(), Max: m.item<double>(), Broadcast: b.ToArray<float>());
        });
        foreach (var r in results)
        {
            Assert.Equal([6f, 30f], r.Sum);
            Assert.Equal(2.0, r.Max);
            Assert.Equal([7f, 7f, 7f], r.Broadcast);
        }
    }

    [Fact]
    public void Store_sets_gets_counts_and_checks_keys()
    {
        int port = FreePort();
        using var server = new TCPStore("127.0.0.1", port, true, Timeout);
        using var client = new TCPStore("127.0.0.1", port, false, Timeout);
        Assert.False(client.check("k"));
        server.set("k", "value"u8);
        Assert.True(client.check("k"));
        Assert.Equal("value"u8.ToArray(), client.get("k"));
        var big = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        client.set("big", big);
        Assert.Equal(big, server.get("big"));
        Assert.Equal(2, client.add("n", 2));
        Assert.Equal(5, server.add("n", 3));
    }

    /// <summary>
    /// Two replicas of a small model on different data: after backward and finish, every gradient is the mean of the
    /// replicas' own gradients (computed apart as the reference), identical on both, with and without overlapping the
    /// all-reduce with backward, with several buckets, with accumulation micro-steps that must not be reduced, and with a
    /// parameter only one rank used (its gradient is half of that rank's) and one no rank used (it keeps none).
    /// </summary>
    [Theory]
    [InlineData(true, 25.0, 1)]
    [InlineData(false, 25.0, 1)]
    [InlineData(true, 0.000001, 1)]
    [InlineData(true, 0.000001, 3)]
    public void Gradients_are_averaged_across_ranks_like_distributed_data_parallel(bool overlap, double bucketMb, int microSteps)
    {
        // Parameters: w [4,3], b [3], onlyRank0 [3], unused [2].
        static (Tensor W, Tensor B, Tensor Only, Tensor Unused) Model()
        {
            var w = torch.arange(12, dtype: ScalarType.Float32).reshape(4, 3).div(10).requires_grad_();
            var b = torch.tensor([0.1f, -0.2f, 0.3f], [3]).requires_grad_();
            var only = torch.tensor([1f, 2f, 3f], [3]).requires_grad_();
            var unused = torch.tensor([5f, 6f], [2]).requires_grad_();
            return (w, b, only, unused);
        }
        static Tensor Input(int rank, int micro) => torch.arange(8, dtype: ScalarType.Float32).reshape(2, 4).mul(0.1 * (rank + 1) + 0.05 * micro);
        static void Backward((Tensor W, Tensor B, Tensor Only, Tensor Unused) m, int rank, int micro)
        {
            var y = torch.matmul(Input(rank, micro), m.W) + m.B;
            var loss = y.pow(2).mean();
            if (rank == 0) loss = loss + (m.Only * y.sum(0)).sum();
            loss.backward();
        }

        // Reference: each rank's accumulated gradients computed alone.
        var alone = new float[2][][];
        for (int rank = 0; rank < 2; rank++)
        {
            using var scope = torch.NewDisposeScope();
            var m = Model();
            for (int micro = 0; micro < microSteps; micro++) Backward(m, rank, micro);
            alone[rank] = [m.W.grad!.ToArray<float>(), m.B.grad!.ToArray<float>(), rank == 0 ? m.Only.grad!.ToArray<float>() : new float[3]];
            Assert.Null(m.Unused.grad);
        }

        var results = OnRanks(2, g =>
        {
            var m = Model();
            using var ddp = new nn.parallel.DistributedDataParallel(g, [m.Unused, m.Only, m.W, m.B], bucketMb, overlap);
            for (int micro = 0; micro < microSteps; micro++)
            {
                ddp.prepare(sync: micro == microSteps - 1);
                Backward(m, g.rank, micro);
            }
            var stats = ddp.finish();
            return (Grads: new[] { m.W.grad!.ToArray<float>(), m.B.grad!.ToArray<float>(), m.Only.grad!.ToArray<float>() },
                    UnusedHasGrad: m.Unused.grad is not null, Stats: stats);
        });

        for (int p = 0; p < 3; p++)
        {
            var expected = alone[0][p].Zip(alone[1][p], (a, b) => (a + b) / 2).ToArray();
            foreach (var r in results)
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(r.Grads[p][i] - expected[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])),
                        $"parameter {p}[{i}]: {r.Grads[p][i]} vs {expected[i]}");
        }
        Assert.All(results, r => Assert.False(r.UnusedHasGrad));
        // Small buckets: one per parameter that requires a gradient; started during backward only with overlap.
        Assert.All(results, r => Assert.Equal(bucketMb < 1 ? 4 : 1, r.Stats.Buckets));
        if (!overlap) Assert.All(results, r => Assert.Equal(0, r.Stats.BucketsDuringBackward));
        // Gloo's work reports completion, so the all-reduce is timed.
        Assert.All(results, r => Assert.True(r.Stats.AllReduceSeconds is > 0 and < 60, $"all-reduce took {r.Stats.AllReduceSeconds} s"));
        // With one bucket per parameter, buckets go in reverse order (b, W, Only, Unused) and start in that order: rank 0
        // starts all but Unused's during backward, rank 1 (which never touches Only) the first two.
        if (overlap && bucketMb < 1)
        {
            Assert.Equal(3, results[0].Stats.BucketsDuringBackward);
            Assert.Equal(2, results[1].Stats.BucketsDuringBackward);
        }
    }

    [Fact]
    public void A_collective_fails_at_once_when_a_peer_is_gone()
    {
        int port = FreePort();
        using var server = new TCPStore("127.0.0.1", port, true, Timeout);
        Exception? error = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var peer = new Thread(() =>
        {
            using var store = new TCPStore("127.0.0.1", port, false, Timeout);
            using var group = new ProcessGroup(store, "gone", Backend.Gloo, 1, 2, Timeout, "127.0.0.1");
            // Leaves without taking part in the all-reduce: its connections close.
        });
        var survivor = new Thread(() =>
        {
            using var store = new TCPStore("127.0.0.1", port, false, Timeout);
            using var group = new ProcessGroup(store, "gone", Backend.Gloo, 0, 2, Timeout, "127.0.0.1");
            peer.Join();
            using var t = torch.ones([4]);
            try { group.all_reduce(ReduceOp.SUM, t); }
            catch (TorchException e) { error = e; }
        });
        peer.Start();
        survivor.Start();
        Assert.True(survivor.Join(TimeSpan.FromSeconds(50)), "the all-reduce with a departed peer hung");
        Assert.NotNull(error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50));
    }
}
