using System.Globalization;

namespace LlmTrainer.TensorBoard;

/// <summary>
/// A TensorBoard event file, <c>events.out.tfevents.&lt;unix time&gt;.&lt;host&gt;.&lt;pid&gt;</c> in a run's directory, so that
/// <c>tensorboard --logdir runs</c> shows the run's scalars. Each record is flushed as it is written, like metrics.jsonl,
/// so a crash loses nothing already logged and TensorBoard can follow the file while the run trains.
/// </summary>
public sealed class EventFileWriter : IDisposable
{
    public const string FilePrefix = "events.out.tfevents.";
    public const string FileVersion = "brain.Event:2";

    private readonly FileStream stream;
    private readonly TimeProvider time;

    /// <summary>Starts a new event file in <paramref name="directory"/> with its version record.</summary>
    public EventFileWriter(string directory, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        Directory.CreateDirectory(directory);
        var now = this.time.GetUtcNow();
        var host = new string(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        var name = $"{FilePrefix}{now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}.{host}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";
        Path = System.IO.Path.Combine(directory, name);
        for (int n = 2; File.Exists(Path); n++)
            Path = System.IO.Path.Combine(directory, $"{name}.{n.ToString(CultureInfo.InvariantCulture)}");
        stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(EventProto.FileVersion(WallTime(), FileVersion));
    }

    public string Path { get; }

    /// <summary>Scalars of one step; NaN and infinities are written as they are (TensorBoard shows them as such).</summary>
    public void Scalars(long step, IEnumerable<(string Tag, double Value)> values)
    {
        var list = values.Select(v => (v.Tag, (float)v.Value)).ToList();
        if (list.Count > 0) Write(EventProto.Scalars(WallTime(), step, list));
    }

    /// <summary>
    /// Marks a restart at <paramref name="step"/>: TensorBoard drops the scalars of earlier files at this step and after,
    /// which a resumed run logs again.
    /// </summary>
    public void SessionStart(long step) => Write(EventProto.SessionLog(WallTime(), step, EventProto.SessionStart));

    /// <summary>Every event of an event file, with every record's CRCs checked.</summary>
    public static List<TensorBoardEvent> Read(string path) => TfRecord.ReadAll(path).Select(r => EventProto.Decode(r)).ToList();

    /// <summary>The event files in <paramref name="directory"/>, oldest first (by name, as TensorBoard orders them).</summary>
    public static IReadOnlyList<string> Find(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, FilePrefix + "*").Order(StringComparer.Ordinal).ToList()
            : [];

    public void Dispose() => stream.Dispose();

    private double WallTime() => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    private void Write(byte[] eventBytes)
    {
        stream.Write(TfRecord.Frame(eventBytes));
        stream.Flush();
    }
}
