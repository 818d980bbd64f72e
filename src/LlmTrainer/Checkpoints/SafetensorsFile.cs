using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// A safetensors file opened for reading: memory-mapped, with every header field checked before any
/// tensor is handed out. Tensors come back as spans of raw little-endian bytes; the caller converts
/// them (<see cref="System.Runtime.InteropServices.MemoryMarshal.Cast{TFrom, TTo}(ReadOnlySpan{TFrom})"/>).
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation's limit; a larger header is a corrupt length field.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly Dictionary<string, SafetensorsTensor> _byName;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data,
        IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _data = data;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="LlmTrainerException"/> naming the file (and tensor) on any defect.</summary>
    public static SafetensorsFile Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"cannot open safetensors file '{path}': {e.Message}", e);
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        var pointerAcquired = false;
        try
        {
            var fileLength = stream.Length;
            if (fileLength < 8)
                throw Corrupt(path, $"is {fileLength} bytes long, too short for the 8-byte header length; the file is truncated or not safetensors.");

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            pointerAcquired = true;
            start += view.PointerOffset;

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(start, 8));
            if (headerLength > MaxHeaderLength)
                throw Corrupt(path, $"declares a header of {headerLength} bytes, over the {MaxHeaderLength}-byte limit; the file is corrupt or not safetensors.");
            if ((long)headerLength > fileLength - 8)
                throw Corrupt(path, $"declares a header of {headerLength} bytes but only {fileLength - 8} bytes follow the length field; the file is truncated.");

            var header = new ReadOnlySpan<byte>(start + 8, (int)headerLength);
            var dataLength = fileLength - 8 - (long)headerLength;
            var (tensors, metadata) = ParseHeader(path, header, dataLength);
            return new SafetensorsFile(path, map, view, start + 8 + (long)headerLength, tensors, metadata);
        }
        catch
        {
            if (pointerAcquired)
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public SafetensorsTensor this[string name] =>
        _byName.TryGetValue(name, out var tensor)
            ? tensor
            : throw new LlmTrainerException($"{Path}: has no tensor '{name}'; it holds {Tensors.Count} tensors ({string.Join(", ", Tensors.Take(5).Select(t => t.Name))}{(Tensors.Count > 5 ? ", ..." : "")}).");

    /// <summary>The raw bytes of a tensor, valid until the file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(string name) => GetBytes(this[name]);

    public ReadOnlySpan<byte> GetBytes(SafetensorsTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(tensor.Name, out var own) || own != tensor)
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to {Path}.", nameof(tensor));
        if (tensor.ByteLength > int.MaxValue)
            throw new LlmTrainerException($"{Path}: tensor '{tensor.Name}' is {tensor.ByteLength} bytes, more than one span can hold (2 GiB).");
        return new ReadOnlySpan<byte>(_data + tensor.Begin, (int)tensor.ByteLength);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }

    private static LlmTrainerException Corrupt(string path, string problem) => new($"safetensors file '{path}' {problem}");

    private static (IReadOnlyList<SafetensorsTensor>, IReadOnlyDictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        // JsonDocument does not check the UTF-8 of strings; a bad byte would only fail later, where it is read.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Corrupt(path, "has a header that is not valid UTF-8; the file is corrupt or not safetensors.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"has a header that is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Corrupt(path, $"has a header that is a JSON {document.RootElement.ValueKind}, not an object.");

            var tensors = new List<SafetensorsTensor>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Corrupt(path, $"names '{property.Name}' twice in its header.");
                if (property.Name == SafetensorsWriter.MetadataKey)
                    ReadMetadata(path, property.Value, metadata);
                else
                    tensors.Add(ReadTensor(path, property.Name, property.Value));
            }

            CheckLayout(path, tensors, dataLength);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"has {SafetensorsWriter.MetadataKey} of JSON type {value.ValueKind}; it must be an object of strings.");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Corrupt(path, $"has metadata '{entry.Name}' of JSON type {entry.Value.ValueKind}; metadata values must be strings.");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw Corrupt(path, $"has metadata '{entry.Name}' twice.");
        }
    }

    private static SafetensorsTensor ReadTensor(string path, string name, JsonElement value)
    {
        LlmTrainerException Bad(string problem) => Corrupt(path, $"tensor '{name}' {problem}");

        if (name.Length == 0)
            throw Bad("has an empty name.");
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad($"is a JSON {value.ValueKind}, not an object with dtype, shape and data_offsets.");

        JsonElement? dtypeElement = null, shapeElement = null, offsetsElement = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype" when dtypeElement is null:
                    dtypeElement = field.Value;
                    break;
                case "shape" when shapeElement is null:
                    shapeElement = field.Value;
                    break;
                case "data_offsets" when offsetsElement is null:
                    offsetsElement = field.Value;
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Bad($"has '{field.Name}' twice.");
                default:
                    throw Bad($"has an unknown field '{field.Name}'.");
            }
        }
        if (dtypeElement is null || shapeElement is null || offsetsElement is null)
            throw Bad($"lacks {(dtypeElement is null ? "dtype" : shapeElement is null ? "shape" : "data_offsets")}.");

        if (dtypeElement.Value.ValueKind != JsonValueKind.String || !SafetensorsDtypes.TryParse(dtypeElement.Value.GetString()!, out var dtype))
            throw Bad($"has unknown dtype {dtypeElement.Value.GetRawText()}; known dtypes are {string.Join(", ", SafetensorsDtypes.Names)}.");

        var shape = ReadIntegers(shapeElement.Value, "shape", Bad);
        var offsets = ReadIntegers(offsetsElement.Value, "data_offsets", Bad);
        if (offsets.Length != 2)
            throw Bad($"has {offsets.Length} data_offsets; it needs two, [begin, end].");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
            throw Bad($"has data_offsets [{begin}, {end}] that end before they begin.");

        long bytes = dtype.Size();
        foreach (var dim in shape)
        {
            if (dim != 0 && bytes > long.MaxValue / dim)
                throw Bad($"has shape [{string.Join(", ", shape)}], too large to address.");
            bytes *= dim;
        }
        if (bytes != end - begin)
            throw Bad($"has shape [{string.Join(", ", shape)}] of {dtype.HeaderName()}, which is {bytes} bytes, but data_offsets [{begin}, {end}] span {end - begin}.");

        return new SafetensorsTensor(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(JsonElement element, string field, Func<string, LlmTrainerException> bad)
    {
        if (element.ValueKind != JsonValueKind.Array)
            throw bad($"has {field} of JSON type {element.ValueKind}; it must be a list of non-negative integers.");
        var values = new long[element.GetArrayLength()];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var value) || value < 0)
                throw bad($"has {field} entry {item.GetRawText()}; entries must be non-negative integers.");
            values[i++] = value;
        }
        return values;
    }

    /// <summary>The data section must be tiled exactly: every byte belongs to one tensor, in offset order.</summary>
    private static void CheckLayout(string path, List<SafetensorsTensor> tensors, long dataLength)
    {
        foreach (var tensor in tensors)
        {
            if (tensor.End > dataLength)
                throw Corrupt(path, $"tensor '{tensor.Name}' has data_offsets [{tensor.Begin}, {tensor.End}] but the data section holds {dataLength} bytes; the file is truncated.");
        }

        long cursor = 0;
        SafetensorsTensor? previous = null;
        foreach (var tensor in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (tensor.Begin < cursor)
                throw Corrupt(path, $"tensor '{tensor.Name}' [{tensor.Begin}, {tensor.End}] overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End}].");
            if (tensor.Begin > cursor)
                throw Corrupt(path, $"has {tensor.Begin - cursor} bytes at data offset {cursor} before tensor '{tensor.Name}' that belong to no tensor.");
            cursor = tensor.End;
            previous = tensor;
        }
        if (cursor != dataLength)
            throw Corrupt(path, $"has {dataLength - cursor} bytes after the last tensor{(previous is null ? "" : $" '{previous.Name}'")} that belong to no tensor.");
    }
}
