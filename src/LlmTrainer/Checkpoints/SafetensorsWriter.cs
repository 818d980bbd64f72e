using System.Buffers.Binary;
using System.Text.Json;

namespace LlmTrainer.Checkpoints;

/// <summary>
/// Writes a safetensors file: an 8-byte little-endian header length, a JSON header (space-padded so the
/// data starts 8-byte aligned), then each tensor's bytes in the order given. The data streams straight
/// to disk; the file is flushed to stable storage before <see cref="WriteFile"/> returns.
/// </summary>
public sealed class SafetensorsWriter
{
    /// <summary>The header name reserved for string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    private const int Alignment = 8;

    private readonly Stream _output;
    private readonly string _path;
    private string _tensor = "";
    private long _remaining;

    private SafetensorsWriter(Stream output, string path)
    {
        _output = output;
        _path = path;
    }

    /// <summary>Writes <paramref name="entries"/> to <paramref name="path"/>, replacing any file there; a failed write leaves no file.</summary>
    public static void WriteFile(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = BuildHeader(path, entries, metadata);
        try
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);

            var writer = new SafetensorsWriter(stream, path);
            foreach (var entry in entries)
            {
                writer._tensor = entry.Name;
                writer._remaining = entry.ExpectedByteLength;
                entry.WriteData(writer);
                if (writer._remaining != 0)
                    throw new InvalidOperationException(
                        $"{path}: tensor '{entry.Name}' was given {entry.ExpectedByteLength - writer._remaining} bytes but its dtype {entry.Dtype.HeaderName()} and shape [{string.Join(", ", entry.Shape)}] need {entry.ExpectedByteLength}.");
            }
            writer._remaining = 0;
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Appends bytes to the tensor being written; throws when they exceed its size.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _remaining)
            throw new InvalidOperationException(
                $"{_path}: tensor '{_tensor}' was given more bytes than its dtype and shape hold ({bytes.Length} more with {_remaining} left).");
        _output.Write(bytes);
        _remaining -= bytes.Length;
    }

    private static byte[] BuildHeader(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var entry in entries)
            {
                if (string.IsNullOrEmpty(entry.Name) || entry.Name == MetadataKey)
                    throw new ArgumentException($"{path}: '{entry.Name}' cannot name a tensor.", nameof(entries));
                if (!names.Add(entry.Name))
                    throw new ArgumentException($"{path}: tensor '{entry.Name}' appears twice.", nameof(entries));
                var size = entry.ExpectedByteLength;
                if (size < 0)
                    throw new ArgumentException($"{path}: tensor '{entry.Name}' has an invalid shape [{string.Join(", ", entry.Shape)}].", nameof(entries));

                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.Dtype.HeaderName());
                json.WriteStartArray("shape");
                foreach (var dim in entry.Shape)
                    json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + size);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += size;
            }
            json.WriteEndObject();
        }

        var length = (int)buffer.Length;
        var padded = (length + Alignment - 1) / Alignment * Alignment;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }
}
