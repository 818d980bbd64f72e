using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// Named checkpoint slots (<c>latest</c>, <c>best</c>) under a run's <c>checkpoints/</c> directory, each
/// replaced atomically: a checkpoint is written and synced in <c>SLOT.tmp-XXXX</c>, the old one is renamed
/// to <c>SLOT.old</c>, the new one renamed into place, and only then is the old one deleted. At any
/// moment of a crash one complete checkpoint remains: <c>SLOT</c>, or <c>SLOT.old</c> while <c>SLOT</c> is
/// missing; <see cref="Find"/> knows both.
/// </summary>
public sealed partial class CheckpointStore
{
    public const string Latest = "latest";
    public const string Best = "best";
    public const string ModelFileName = "model.safetensors";
    public const string OptimizerFileName = "optimizer.safetensors";

    private const string OldSuffix = ".old";
    private const string TempMarker = ".tmp-";

    public CheckpointStore(string directory) => Directory = Path.GetFullPath(directory);

    /// <summary>The <c>checkpoints/</c> directory holding the slots.</summary>
    public string Directory { get; }

    /// <summary>
    /// Writes a checkpoint into <paramref name="slot"/>: <paramref name="writeFiles"/> fills the temporary
    /// directory it is given (model and optimizer tensors), the store adds <c>state.json</c> (with the files' hashes), syncs
    /// everything and swaps it into place. Returns the slot's directory.
    /// </summary>
    public string Save(string slot, CheckpointState state, Action<string> writeFiles)
    {
        CheckSlot(slot);
        System.IO.Directory.CreateDirectory(Directory);
        DeleteTemporaries(slot);

        var temp = Path.Combine(Directory, slot + TempMarker + RandomNumberGenerator.GetHexString(8, lowercase: true));
        System.IO.Directory.CreateDirectory(temp);
        try
        {
            writeFiles(temp);
            (state with { FileHashes = CheckpointState.HashFiles(temp) }).Write(temp);
            FileSync.Tree(temp);
        }
        catch
        {
            System.IO.Directory.Delete(temp, recursive: true);
            throw;
        }

        Swap(slot, temp);
        return SlotPath(slot);
    }

    /// <summary>
    /// The directory of the complete checkpoint in <paramref name="slot"/>, or null when there is none.
    /// After a crash in the middle of a swap this is <c>SLOT.old</c>; the next save tidies up.
    /// </summary>
    public string? Find(string slot)
    {
        CheckSlot(slot);
        var path = SlotPath(slot);
        if (System.IO.Directory.Exists(path))
            return path;
        var old = path + OldSuffix;
        return System.IO.Directory.Exists(old) ? old : null;
    }

    private string SlotPath(string slot) => Path.Combine(Directory, slot);

    private void Swap(string slot, string temp)
    {
        var path = SlotPath(slot);
        var old = path + OldSuffix;
        if (System.IO.Directory.Exists(path))
        {
            // A SLOT.old beside a complete SLOT is left from a crash after the swap: stale.
            if (System.IO.Directory.Exists(old))
                System.IO.Directory.Delete(old, recursive: true);
            System.IO.Directory.Move(path, old);
            FileSync.Directory(Directory);
        }
        System.IO.Directory.Move(temp, path);
        FileSync.Directory(Directory);
        if (System.IO.Directory.Exists(old))
            System.IO.Directory.Delete(old, recursive: true);
    }

    /// <summary>Half-written checkpoints of earlier, interrupted saves.</summary>
    private void DeleteTemporaries(string slot)
    {
        foreach (var stale in System.IO.Directory.EnumerateDirectories(Directory, slot + TempMarker + "*"))
            System.IO.Directory.Delete(stale, recursive: true);
    }

    private static void CheckSlot(string slot)
    {
        if (!SlotName().IsMatch(slot))
            throw new ArgumentException($"'{slot}' is not a checkpoint slot name (letters, digits, '_' and '-').", nameof(slot));
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex SlotName();
}
