using System.Text;
using LlmTrainer.Torch;
using static LlmTrainer.Torch.torch.distributed;

namespace LlmTrainer.Distributed;

/// <summary>
/// The job's meeting point: a TCPStore that rank 0 hosts (or torchrun's agent) and every rank connects to, before any
/// process group exists. Rank 0 hands the other ranks what only it decides (the run directory, that the data is ready).
/// </summary>
public sealed class Rendezvous : IDisposable
{
    private const string ErrorMarker = "\u0000error:";

    private Rendezvous(DistributedEnvironment env, TCPStore store, TimeSpan timeout)
    {
        Environment = env;
        Store = store;
        Timeout = timeout;
    }

    public DistributedEnvironment Environment { get; }

    public TimeSpan Timeout { get; }

    internal TCPStore Store { get; }

    /// <summary>Connects to the store (rank 0 hosts it unless the launcher does), waiting up to <paramref name="timeout"/> for it.</summary>
    public static Rendezvous Connect(DistributedEnvironment env, TimeSpan timeout)
    {
        var rendezvous = new Rendezvous(env, Open(env, env.IsMaster && !env.StoreIsExternal, timeout), timeout);
        rendezvous.Store.add(rendezvous.JoinedKey, 1);
        return rendezvous;
    }

    private string JoinedKey => $"{Environment.StorePrefix}/joined";

    internal static TCPStore Open(DistributedEnvironment env, bool host, TimeSpan timeout)
    {
        try
        {
            return new TCPStore(env.MasterAddr, env.MasterPort, host, timeout);
        }
        catch (TorchException e)
        {
            throw new LlmTrainerException(host
                ? $"rank 0 could not host the rendezvous at {env.MasterAddr}:{env.MasterPort} ({FirstLine(e.Message)}); is the port in use? Choose another MASTER_PORT."
                : $"rank {env.Rank} of {env.WorldSize} could not reach the rendezvous at {env.MasterAddr}:{env.MasterPort} ({FirstLine(e.Message)}). " +
                  "Check that every rank was started with the same MASTER_ADDR/MASTER_PORT and that rank 0 is running.", e);
        }
    }

    /// <summary>
    /// Rank 0 computes the value and publishes it; the other ranks wait for it. When rank 0 fails instead, the others
    /// fail too, with its message.
    /// </summary>
    public string ShareFromMaster(string key, Func<string> onMaster)
    {
        var fullKey = $"{Environment.StorePrefix}/share/{key}";
        if (Environment.IsMaster)
        {
            string value;
            try
            {
                value = onMaster();
            }
            catch (Exception e)
            {
                TryPublish(fullKey, ErrorMarker + FirstLine(e.Message));
                throw;
            }
            Store.set(fullKey, Encoding.UTF8.GetBytes(value));
            return value;
        }
        byte[] bytes;
        try
        {
            bytes = WaitFor(fullKey, key);
        }
        catch (TorchException e)
        {
            throw new LlmTrainerException($"rank {Environment.Rank} lost rank 0 while waiting for it ({key}): {FirstLine(e.Message)}", e);
        }
        var text = Encoding.UTF8.GetString(bytes);
        if (text.StartsWith(ErrorMarker, StringComparison.Ordinal))
            throw new LlmTrainerException($"rank 0 failed, so rank {Environment.Rank} stops: {text[ErrorMarker.Length..]}");
        return text;
    }

    /// <summary>The key's value, or rank 0's abort message if that comes first; polled, so that rank 0 failing anywhere ends the wait at once.</summary>
    private byte[] WaitFor(string fullKey, string key)
    {
        var abortKey = $"{Environment.StorePrefix}/abort";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Store.check(fullKey))
        {
            if (Store.check(abortKey)) return Store.get(abortKey);
            if (clock.Elapsed > Timeout)
                throw new LlmTrainerException($"rank {Environment.Rank} waited {Timeout.TotalSeconds:F0} s in vain for rank 0 ({key}); is rank 0 running?");
            Thread.Sleep(50);
        }
        return Store.get(fullKey);
    }

    /// <summary>Rank 0 failed before the process groups exist: ranks waiting in <see cref="ShareFromMaster"/> stop with its message.</summary>
    public void Abort(Exception e)
    {
        if (!Environment.IsMaster) return;
        TryPublish($"{Environment.StorePrefix}/abort", ErrorMarker + FirstLine(e.Message));
        // A rank still connecting to the store that rank 0 hosts would retry until the timeout once it is gone: stay until
        // every rank has connected (and will see the abort, or the store closing), for a few seconds at most.
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Store.add(JoinedKey, 0) < Environment.WorldSize && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        }
        catch (TorchException)
        {
        }
    }

    private void TryPublish(string key, string value)
    {
        try { Store.set(key, Encoding.UTF8.GetBytes(value)); }
        catch (TorchException) { } // the other ranks will time out instead
    }

    internal static string FirstLine(string message)
    {
        int newline = message.IndexOf('\n');
        return (newline < 0 ? message : message[..newline]).TrimEnd('.', ' ', '\r');
    }

    public void Dispose() => Store.Dispose();
}
