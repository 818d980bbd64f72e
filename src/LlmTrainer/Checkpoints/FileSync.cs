using System.Runtime.InteropServices;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// Flushes files and directories to stable storage. A rename is durable only once the directory
/// holding it is synced, and .NET has no API for syncing a directory, hence the libc calls.
/// </summary>
internal static partial class FileSync
{
    public static void File(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Syncs every file under <paramref name="directory"/>, then the directories themselves.</summary>
    public static void Tree(string directory)
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            File(file);
        foreach (var sub in System.IO.Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories))
            Directory(sub);
        Directory(directory);
    }

    /// <summary>fsync on a directory; Windows has no equivalent (and its renames are journaled), so there it does nothing.</summary>
    public static void Directory(string path)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Open(path, ReadOnly);
        if (fd < 0)
            throw new IOException($"cannot open directory '{path}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system cannot sync directories (some network and virtual ones); nothing more to do.
                if (errno != EINVAL)
                    throw new IOException($"cannot sync directory '{path}' (errno {errno}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private const int EINVAL = 22;

    // O_RDONLY is 0 on every Unix; it is all that opening a directory for fsync needs.
    private const int ReadOnly = 0;

    // open(2) is variadic; without O_CREAT the mode argument is not read, so it is left out.
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
