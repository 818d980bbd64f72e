namespace LlmTrainer.Training;

/// <summary>
/// Keeps a second process from training in a run directory while one does: an exclusive lock on <c>train.lock</c>
/// (flock, released by the kernel when the process ends, so a run killed with -9 leaves no stale lock), and
/// <c>train.pid</c> beside it to name the holder in the message.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string LockFileName = "train.lock";
    public const string PidFileName = "train.pid";

    // What .NET reports when another open file holds the lock, as opposed to a read-only or full file system: the
    // errno of a refused flock (EWOULDBLOCK, 11 on Linux), or Windows' ERROR_SHARING_VIOLATION.
    private static bool HeldElsewhere(IOException e) => e.HResult is 11 or unchecked((int)0x80070020);

    private readonly FileStream stream;
    private readonly string pidPath;

    private RunLock(FileStream stream, string pidPath)
    {
        this.stream = stream;
        this.pidPath = pidPath;
    }

    /// <summary>Takes the lock of <paramref name="runPath"/>, or throws naming the process that holds it.</summary>
    public static RunLock Acquire(string runPath)
    {
        var lockPath = Path.Combine(runPath, LockFileName);
        var pidPath = Path.Combine(runPath, PidFileName);
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (HeldElsewhere(e))
        {
            var holder = ReadPid(pidPath) is { } pid ? $" (PID {pid})" : "";
            throw new LlmTrainerException(
                $"{runPath} is being trained by another llmtrain process{holder}; wait for it to finish or stop it (Ctrl+C saves), " +
                "or train into another directory.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"cannot write in run directory {runPath}: {e.Message}", e);
        }
        File.WriteAllText(pidPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new RunLock(stream, pidPath);
    }

    /// <summary>
    /// Whether a process trains in <paramref name="runPath"/> now: its lock is held (a run killed with -9 holds none,
    /// whatever train.pid says).
    /// </summary>
    public static bool IsHeld(string runPath)
    {
        var lockPath = Path.Combine(runPath, LockFileName);
        if (!File.Exists(lockPath)) return false;
        try
        {
            using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (IOException e) when (HeldElsewhere(e))
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(pidPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the lock itself is what matters, and it goes with the stream
        }
        stream.Dispose();
    }
}
