using LlmTrainer.Torch;
using static LlmTrainer.Torch.torch.distributed;

namespace LlmTrainer.Distributed;

/// <summary>
/// This process's membership of a data-parallel job: the rendezvous store, the process group that averages gradients
/// (NCCL for CUDA tensors, Gloo for CPU ones) and a Gloo group for the small CPU-side agreements (stop after this
/// step, average the losses). Each rank also ticks a heartbeat counter in the store, so that when a collective fails
/// the ranks that stopped ticking can be named.
/// </summary>
public sealed class DistributedContext : IDisposable
{
    /// <summary>How long a collective may wait for the slowest rank (rank 0 saving a large checkpoint, say) before it fails.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    /// <summary>Environment variable: the collective timeout in seconds.</summary>
    public const string TimeoutVariable = "LLMTRAIN_DIST_TIMEOUT";

    private static readonly TimeSpan HeartbeatPeriod = TimeSpan.FromMilliseconds(250);

    private readonly TCPStore heartbeatStore;
    private readonly Thread heartbeat;
    private readonly CancellationTokenSource stopHeartbeat = new();

    private DistributedContext(DistributedEnvironment env, Backend backend, TCPStore heartbeatStore, ProcessGroup data, ProcessGroup control)
    {
        Environment = env;
        Backend = backend;
        this.heartbeatStore = heartbeatStore;
        Data = data;
        Control = control;
        heartbeat = new Thread(Beat) { IsBackground = true, Name = "llmtrain heartbeat" };
        heartbeat.Start();
    }

    public DistributedEnvironment Environment { get; }

    public Backend Backend { get; }

    public int Rank => Environment.Rank;

    public int WorldSize => Environment.WorldSize;

    public bool IsMaster => Environment.IsMaster;

    /// <summary>The group that all-reduces gradients.</summary>
    public ProcessGroup Data { get; }

    /// <summary>A Gloo group over CPU tensors (the same group as <see cref="Data"/> when that is Gloo).</summary>
    public ProcessGroup Control { get; }

    /// <summary>Makes the process groups over the rendezvous; waits up to its timeout for every rank.</summary>
    public static DistributedContext Join(Rendezvous rendezvous, Backend backend)
    {
        var env = rendezvous.Environment;
        if (!is_backend_available(backend))
            throw new LlmTrainerException(backend == Backend.Nccl
                ? "--dist-backend nccl: this libtorch has no NCCL (it needs a CUDA build of PyTorch/libtorch with NCCL); use --dist-backend gloo."
                : "--dist-backend gloo: llmtrain's native library was built without Gloo's headers; install libgloo-dev and run scripts/setup.sh again.");
        TCPStore? beat = null;
        ProcessGroup? data = null, control = null;
        try
        {
            beat = Rendezvous.Open(env, false, rendezvous.Timeout);
            data = new ProcessGroup(rendezvous.Store, $"{env.StorePrefix}/data", backend, env.Rank, env.WorldSize, rendezvous.Timeout, env.MasterAddr);
            control = backend == Backend.Gloo ? data : new ProcessGroup(rendezvous.Store, $"{env.StorePrefix}/control", Backend.Gloo, env.Rank, env.WorldSize, rendezvous.Timeout, env.MasterAddr);
            return new DistributedContext(env, backend, beat, data, control);
        }
        catch (TorchException e)
        {
            if (control != data) control?.Dispose();
            data?.Dispose();
            beat?.Dispose();
            throw new LlmTrainerException(
                $"rank {env.Rank} of {env.WorldSize} could not make the {backend} process group at {env.MasterAddr}:{env.MasterPort} " +
                $"({Rendezvous.FirstLine(e.Message)}); every rank must start within {rendezvous.Timeout.TotalSeconds:F0} s of the others.", e);
        }
    }

    /// <summary>The collective timeout: <see cref="TimeoutVariable"/> seconds, else <see cref="DefaultTimeout"/>.</summary>
    public static TimeSpan TimeoutFromEnvironment()
    {
        var text = System.Environment.GetEnvironmentVariable(TimeoutVariable);
        if (string.IsNullOrEmpty(text)) return DefaultTimeout;
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) || !(s >= 1))
            throw new LlmTrainerException($"{TimeoutVariable}={text} is not valid: give the collective timeout in seconds (at least 1).");
        return TimeSpan.FromSeconds(s);
    }

    /// <summary>Whether any rank asks to stop: every rank gets the same answer at the same step.</summary>
    public bool AnyRank(bool mine)
    {
        using var flag = torch.tensor([mine ? 1f : 0f], [1]);
        Control.all_reduce(ReduceOp.MAX, flag);
        return flag.item<float>() > 0;
    }

    /// <summary>The mean of each value over the ranks.</summary>
    public double[] Mean(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return [];
        using var t = torch.tensor(values, [values.Length]);
        Control.all_reduce(ReduceOp.SUM, t);
        var sums = t.ToArray<double>();
        for (int i = 0; i < sums.Length; i++) sums[i] /= WorldSize;
        return sums;
    }

    /// <summary>Every rank's tensors take rank 0's values (the model's initial weights).</summary>
    public void BroadcastFromMaster(IReadOnlyList<Tensor> tensors) => Data.broadcast(tensors, 0);

    public void Barrier() => Control.barrier();

    /// <summary>
    /// After a collective failed: the ranks whose heartbeat stopped (their process exited or hangs), watched for up to a
    /// few seconds; rank 0 when the store it hosts is gone; empty when every rank is still alive.
    /// </summary>
    public IReadOnlyList<int> SilentRanks()
    {
        try
        {
            var before = ReadHeartbeats();
            Thread.Sleep(HeartbeatPeriod * 8);
            var after = ReadHeartbeats();
            return Enumerable.Range(0, WorldSize).Where(r => r != Rank && after[r] == before[r]).ToList();
        }
        catch (TorchException) when (!Environment.StoreIsExternal && !IsMaster)
        {
            return [0];
        }
        catch (TorchException)
        {
            return [];
        }
    }

    /// <summary>
    /// The error for a failed collective: names the ranks that stopped, when any did; null when all are alive (the
    /// failure is this rank's own, and the original error says it best).
    /// </summary>
    public LlmTrainerException? PeerFailure(Exception e, long step)
    {
        var silent = SilentRanks();
        if (silent.Count == 0) return null;
        var who = silent.Count == 1 ? $"rank {silent[0]}" : $"ranks {string.Join(", ", silent)}";
        return new LlmTrainerException(
            $"{who} of {WorldSize} stopped (its process exited or hangs) at step {step}; this rank stops too. " +
            $"The last checkpoint is kept; resume with --resume once every rank can run. ({Rendezvous.FirstLine(e.Message)})", e);
    }

    private long[] ReadHeartbeats()
    {
        var counts = new long[WorldSize];
        for (int r = 0; r < WorldSize; r++) counts[r] = heartbeatStore.add($"{Environment.StorePrefix}/heartbeat/{r}", 0);
        return counts;
    }

    private void Beat()
    {
        var key = $"{Environment.StorePrefix}/heartbeat/{Rank}";
        while (!stopHeartbeat.IsCancellationRequested)
        {
            try
            {
                heartbeatStore.add(key, 1);
            }
            catch (TorchException)
            {
                return; // the store is gone: the job is ending, and the collectives will say why
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            stopHeartbeat.Token.WaitHandle.WaitOne(HeartbeatPeriod);
        }
    }

    public void Dispose()
    {
        stopHeartbeat.Cancel();
        heartbeat.Join(TimeSpan.FromSeconds(5));
        if (!ReferenceEquals(Control, Data)) Control.Dispose();
        Data.Dispose();
        heartbeatStore.Dispose();
        stopHeartbeat.Dispose();
    }
}
