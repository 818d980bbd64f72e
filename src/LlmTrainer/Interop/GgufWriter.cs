using System.Text;

namespace LlmTrainer.Interop;

/// <summary>
/// Writes a GGUF version 3 file: "GGUF", the version, the tensor and metadata counts (uint64), the metadata (key string,
/// uint32 value type, value; strings are a uint64 length and UTF-8 bytes; arrays an element type, a uint64 count and the
/// elements), the tensor infos (name, dimension count, dimensions innermost first, ggml type, offset into the data),
/// padding to the alignment, then every tensor's bytes, each starting at a multiple of the alignment. Little-endian.
/// </summary>
public sealed class GgufWriter
{
    public const uint Magic = 0x46554747; // "GGUF"
    public const uint Version = 3;
    public const int Alignment = 32;

    private readonly List<(string Key, GgufValueType Type, object Value)> metadata = new();
    private readonly List<(string Name, GgmlType Type, long[] Shape, Func<byte[]> Data)> tensors = new();

    public void Add(string key, string value) => metadata.Add((key, GgufValueType.String, value));
    public void Add(string key, uint value) => metadata.Add((key, GgufValueType.UInt32, value));
    public void Add(string key, float value) => metadata.Add((key, GgufValueType.Float32, value));
    public void Add(string key, bool value) => metadata.Add((key, GgufValueType.Bool, value));
    public void Add(string key, IReadOnlyList<string> values) => metadata.Add((key, GgufValueType.Array, values));
    public void Add(string key, IReadOnlyList<int> values) => metadata.Add((key, GgufValueType.Array, values));
    public void Add(string key, IReadOnlyList<float> values) => metadata.Add((key, GgufValueType.Array, values));

    /// <summary>A tensor of PyTorch shape <paramref name="shape"/> (outermost first); <paramref name="data"/> gives its bytes when it is written.</summary>
    public void AddTensor(string name, GgmlType type, long[] shape, Func<byte[]> data) => tensors.Add((name, type, shape, data));

    public static int ElementSize(GgmlType type) => type == GgmlType.F32 ? 4 : 2;

    public void Write(string path, Action<long, long>? progress = null)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, type, value) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            switch (value)
            {
                case string s: WriteString(w, s); break;
                case uint u: w.Write(u); break;
                case float f: w.Write(f); break;
                case bool b: w.Write((byte)(b ? 1 : 0)); break;
                case IReadOnlyList<string> list:
                    w.Write((uint)GgufValueType.String);
                    w.Write((ulong)list.Count);
                    foreach (var s in list) WriteString(w, s);
                    break;
                case IReadOnlyList<int> ints:
                    w.Write((uint)GgufValueType.Int32);
                    w.Write((ulong)ints.Count);
                    foreach (var i in ints) w.Write(i);
                    break;
                case IReadOnlyList<float> floats:
                    w.Write((uint)GgufValueType.Float32);
                    w.Write((ulong)floats.Count);
                    foreach (var f in floats) w.Write(f);
                    break;
                default: throw new InvalidOperationException($"GGUF value of {value.GetType()} for '{key}'");
            }
        }

        long offset = 0, total = 0;
        foreach (var (name, type, shape, _) in tensors)
        {
            WriteString(w, name);
            w.Write((uint)shape.Length);
            for (int d = shape.Length - 1; d >= 0; d--) w.Write((ulong)shape[d]);
            w.Write((uint)type);
            w.Write((ulong)offset);
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type);
            offset = Pad(offset + bytes);
            total += bytes;
        }
        w.Flush();
        Zeros(stream, Pad(stream.Position) - stream.Position);

        long start = stream.Position, done = 0;
        foreach (var (name, type, shape, data) in tensors)
        {
            var bytes = data();
            long expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type);
            if (bytes.Length != expected)
                throw new InvalidOperationException($"GGUF tensor '{name}' has {bytes.Length} bytes, its shape and type need {expected}");
            stream.Write(bytes);
            done += bytes.Length;
            Zeros(stream, Pad(stream.Position - start) - (stream.Position - start));
            progress?.Invoke(done, total);
        }
        stream.Flush(flushToDisk: true);
    }

    private static long Pad(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void Zeros(Stream stream, long count)
    {
        for (long i = 0; i < count; i++) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

}
