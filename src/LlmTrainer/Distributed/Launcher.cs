using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace LlmTrainer.Distributed;

/// <summary>
/// <c>--nproc-per-node N</c>: starts N workers on this machine with torchrun's environment (a standalone job: the
/// rendezvous on the loopback address, a free port) and watches them. Ctrl+C or SIGTERM is passed on to every worker as
/// SIGTERM, so they stop after the same step with one checkpoint (a second Ctrl+C kills them). When a worker fails, the
/// others get <see cref="FailureGrace"/> to notice and exit on their own, then are stopped. Returns the first failure's
/// exit code, else 130 when the workers were interrupted, else 0.
/// </summary>
public static partial class Launcher
{
    public static readonly TimeSpan FailureGrace = TimeSpan.FromSeconds(15);

    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private const int Interrupted = 130;

    /// <param name="command">How to start this program again: the executable and the arguments before the worker's own.</param>
    public static int Run(int workers, (string FileName, IReadOnlyList<string> Prefix) command, IReadOnlyList<string> arguments, TextWriter stderr)
    {
        if (workers < 1 || workers > 1024)
            throw new LlmTrainerException($"--nproc-per-node {workers}: give a number of workers from 1 to 1024 (at most one per GPU on CUDA).");
        if (DistributedEnvironment.Detect() is not null)
            throw new LlmTrainerException("--nproc-per-node was given to a process that is already a worker of a job (RANK/WORLD_SIZE or SLURM_PROCID are set); drop it.");
        var port = Environment.GetEnvironmentVariable("MASTER_PORT") is { Length: > 0 } p ? p : FreePort().ToString(CultureInfo.InvariantCulture);
        var threads = Environment.GetEnvironmentVariable("LLMTRAIN_THREADS") is { Length: > 0 } t
            ? t
            : Math.Max(1, Environment.ProcessorCount / workers).ToString(CultureInfo.InvariantCulture);

        var processes = new List<Process>();
        int signals = 0;
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            int n = Interlocked.Increment(ref signals);
            foreach (var w in processes.ToArray())
                Signal(w, n == 1 || ctx.Signal == PosixSignal.SIGTERM ? SIGTERM : SIGKILL);
        }
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            for (int rank = 0; rank < workers; rank++)
            {
                var info = new ProcessStartInfo(command.FileName) { UseShellExecute = false };
                foreach (var a in command.Prefix) info.ArgumentList.Add(a);
                foreach (var a in arguments) info.ArgumentList.Add(a);
                info.Environment["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                info.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
                info.Environment["WORLD_SIZE"] = workers.ToString(CultureInfo.InvariantCulture);
                info.Environment["LOCAL_WORLD_SIZE"] = workers.ToString(CultureInfo.InvariantCulture);
                info.Environment["MASTER_ADDR"] = "127.0.0.1";
                info.Environment["MASTER_PORT"] = port;
                info.Environment["LLMTRAIN_THREADS"] = threads;
                info.Environment["LLMTRAIN_LAUNCHER"] = "--nproc-per-node";
                processes.Add(Process.Start(info) ?? throw new LlmTrainerException($"could not start worker {rank}: {command.FileName}"));
            }
            return Watch(processes, stderr);
        }
        finally
        {
            foreach (var w in processes)
            {
                if (!w.HasExited) w.Kill();
                w.Dispose();
            }
        }
    }

    private static int Watch(List<Process> processes, TextWriter stderr)
    {
        int? firstFailure = null;
        DateTime? deadline = null;
        var done = new bool[processes.Count];
        while (true)
        {
            bool allDone = true;
            for (int rank = 0; rank < processes.Count; rank++)
            {
                if (done[rank]) continue;
                if (!processes[rank].HasExited)
                {
                    allDone = false;
                    continue;
                }
                done[rank] = true;
                int code = processes[rank].ExitCode;
                if (code != 0 && code != Interrupted && firstFailure is null)
                {
                    firstFailure = code;
                    deadline = DateTime.UtcNow + FailureGrace;
                    stderr.WriteLine($"llmtrain: worker {rank} failed (exit code {code}); the other workers stop too");
                }
            }
            if (allDone) break;
            if (deadline is { } d && DateTime.UtcNow > d)
            {
                for (int rank = 0; rank < processes.Count; rank++)
                {
                    if (done[rank]) continue;
                    stderr.WriteLine($"llmtrain: worker {rank} did not stop within {FailureGrace.TotalSeconds:F0} s of the failure; killing it");
                    processes[rank].Kill();
                }
                deadline = null;
            }
            Thread.Sleep(50);
        }
        if (firstFailure is { } f) return f;
        return processes.Any(w => w.ExitCode == Interrupted) ? Interrupted : 0;
    }

    private static void Signal(Process process, int signal)
    {
        try
        {
            if (!process.HasExited) _ = kill(process.Id, signal);
        }
        catch (InvalidOperationException)
        {
            // not started or already gone
        }
    }

    /// <summary>A TCP port that is free now on the loopback address (for the standalone rendezvous).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
