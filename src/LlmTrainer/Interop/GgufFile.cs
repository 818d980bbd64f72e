using System.Text;

namespace LlmTrainer.Interop;

/// <summary>
/// A GGUF file read back: its metadata (values as uint, int, float, bool, string, ulong, long, double, or arrays of those
/// as object lists) and its tensor infos, with every offset, size and alignment checked against the file. Tensor data is
/// read on demand.
/// </summary>
public sealed class GgufFile
{
    public sealed record TensorInfo(string Name, long[] Dims, GgmlType Type, long Offset)
    {
        /// <summary>The shape outermost first, as PyTorch writes it (GGUF stores the innermost dimension first).</summary>
        public long[] Shape => Dims.Reverse().ToArray();

        public long ByteLength => Dims.Aggregate(1L, (a, b) => a > 0 && b > long.MaxValue / 8 / a ? -1 : a < 0 ? -1 : a * b) is var n and >= 0
            ? n * GgufWriter.ElementSize(Type)
            : long.MaxValue;
    }

    private GgufFile(string path) => Path = path;

    public string Path { get; }

    public uint Version { get; private set; }

    public IReadOnlyDictionary<string, object> Metadata { get; private set; } = new Dictionary<string, object>();

    /// <summary>Metadata keys in file order.</summary>
    public IReadOnlyList<string> Keys { get; private set; } = [];

    public IReadOnlyList<TensorInfo> Tensors { get; private set; } = [];

    public long DataStart { get; private set; }

    public int Alignment { get; private set; } = GgufWriter.Alignment;

    public static GgufFile Open(string path)
    {
        var file = new GgufFile(path);
        using var stream = File.OpenRead(path);
        var r = new BinaryReader(stream, Encoding.UTF8);
        LlmTrainerException Bad(string what) => new($"GGUF file '{path}' {what}");
        try
        {
            if (r.ReadUInt32() != GgufWriter.Magic) throw Bad("does not start with 'GGUF'; it is not a GGUF file.");
            file.Version = r.ReadUInt32();
            if (file.Version is not (2 or 3)) throw Bad($"has version {file.Version}; versions 2 and 3 are known.");
            ulong tensorCount = r.ReadUInt64(), kvCount = r.ReadUInt64();
            if (tensorCount > 1 << 20 || kvCount > 1 << 20) throw Bad($"declares {tensorCount} tensors and {kvCount} metadata entries; the file is corrupt.");
            var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
            var keys = new List<string>();
            for (ulong i = 0; i < kvCount; i++)
            {
                var key = ReadString(r, stream, Bad);
                var type = (GgufValueType)r.ReadUInt32();
                if (!metadata.TryAdd(key, ReadValue(r, stream, type, Bad))) throw Bad($"has metadata key '{key}' twice.");
                keys.Add(key);
            }
            if (metadata.TryGetValue("general.alignment", out var a))
                file.Alignment = a is uint align && align > 0 && (align & (align - 1)) == 0 ? (int)align : throw Bad("has a general.alignment that is not a power of two (uint32).");
            var tensors = new List<TensorInfo>();
            for (ulong i = 0; i < tensorCount; i++)
            {
                var name = ReadString(r, stream, Bad);
                uint n = r.ReadUInt32();
                if (n is 0 or > 4) throw Bad($"tensor '{name}' has {n} dimensions.");
                var dims = new long[n];
                for (int d = 0; d < n; d++)
                {
                    ulong dim = r.ReadUInt64();
                    dims[d] = dim is > 0 and < 1UL << 40 ? (long)dim : throw Bad($"tensor '{name}' has dimension {dim}.");
                }
                var type = (GgmlType)r.ReadUInt32();
                if (type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)) throw Bad($"tensor '{name}' has ggml type {(uint)type}, which this reader does not know (F32, F16, BF16).");
                ulong rawOffset = r.ReadUInt64();
                if (rawOffset > long.MaxValue / 2) throw Bad($"tensor '{name}' has offset {rawOffset}, past any file.");
                long offset = (long)rawOffset;
                if (offset % file.Alignment != 0) throw Bad($"tensor '{name}' starts at offset {offset}, not a multiple of the alignment {file.Alignment}.");
                tensors.Add(new TensorInfo(name, dims, type, offset));
            }
            long dataStart = (stream.Position + file.Alignment - 1) / file.Alignment * file.Alignment;
            long dataLength = stream.Length - dataStart;
            long end = 0;
            foreach (var t in tensors.OrderBy(t => t.Offset))
            {
                if (t.Offset < end) throw Bad($"tensor '{t.Name}' overlaps the tensor before it.");
                if (t.ByteLength > dataLength - t.Offset) throw Bad($"tensor '{t.Name}' ends past the {dataLength} bytes of data; the file is truncated.");
                end = t.Offset + t.ByteLength;
                if (end > dataLength) throw Bad($"tensor '{t.Name}' ends at {end}, past the {dataLength} bytes of data; the file is truncated.");
            }
            if (tensors.Select(t => t.Name).Distinct().Count() != tensors.Count) throw Bad("names a tensor twice.");
            file.Metadata = metadata;
            file.Keys = keys;
            file.Tensors = tensors;
            file.DataStart = dataStart;
            return file;
        }
        catch (EndOfStreamException e)
        {
            throw new LlmTrainerException($"GGUF file '{path}' ends in the middle of its header; the file is truncated.", e);
        }
    }

    public TensorInfo Tensor(string name) => Tensors.FirstOrDefault(t => t.Name == name)
        ?? throw new LlmTrainerException($"GGUF file '{Path}' has no tensor '{name}'.");

    public byte[] ReadBytes(TensorInfo tensor)
    {
        using var stream = File.OpenRead(Path);
        stream.Position = DataStart + tensor.Offset;
        var bytes = new byte[tensor.ByteLength];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string ReadString(BinaryReader r, Stream stream, Func<string, LlmTrainerException> bad)
    {
        ulong length = r.ReadUInt64();
        if (length > (ulong)(stream.Length - stream.Position)) throw bad($"has a string of {length} bytes at {stream.Position}, past the end of the file.");
        var bytes = r.ReadBytes((int)length);
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw bad($"has a string at {stream.Position - (long)length} that is not UTF-8.");
        return Encoding.UTF8.GetString(bytes);
    }

    private static object ReadValue(BinaryReader r, Stream stream, GgufValueType type, Func<string, LlmTrainerException> bad) => type switch
    {
        GgufValueType.UInt8 => r.ReadByte(),
        GgufValueType.Int8 => r.ReadSByte(),
        GgufValueType.UInt16 => r.ReadUInt16(),
        GgufValueType.Int16 => r.ReadInt16(),
        GgufValueType.UInt32 => r.ReadUInt32(),
        GgufValueType.Int32 => r.ReadInt32(),
        GgufValueType.Float32 => r.ReadSingle(),
        GgufValueType.Bool => r.ReadByte() switch { 0 => false, 1 => true, var b => throw bad($"has a bool of value {b}.") },
        GgufValueType.String => ReadString(r, stream, bad),
        GgufValueType.UInt64 => r.ReadUInt64(),
        GgufValueType.Int64 => r.ReadInt64(),
        GgufValueType.Float64 => r.ReadDouble(),
        GgufValueType.Array => ReadArray(r, stream, bad),
        _ => throw bad($"has a metadata value of unknown type {(uint)type}."),
    };

    private static List<object> ReadArray(BinaryReader r, Stream stream, Func<string, LlmTrainerException> bad)
    {
        var type = (GgufValueType)r.ReadUInt32();
        ulong count = r.ReadUInt64();
        if (type == GgufValueType.Array) throw bad("nests an array in an array, which llama.cpp does not write.");
        if (count > (ulong)(stream.Length - stream.Position)) throw bad($"declares an array of {count} elements, more than the file holds.");
        var list = new List<object>((int)count);
        for (ulong i = 0; i < count; i++) list.Add(ReadValue(r, stream, type, bad));
        return list;
    }
}
