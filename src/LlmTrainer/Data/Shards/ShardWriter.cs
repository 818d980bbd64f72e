using System.Buffers.Binary;

namespace LlmTrainer.Data;

/// <summary>
/// Writes one shard in the llm.c layout. The header is written last, once the token count is known,
/// so a shard cut short by a crash never claims tokens it does not hold.
/// </summary>
public sealed class ShardWriter : IDisposable
{
    private const int StagingBytes = 1 << 20;
    private readonly FileStream _stream;
    private readonly byte[] _staging = new byte[StagingBytes];
    private bool _completed;

    public ShardWriter(string path, TokenDType dtype)
    {
        Path = path;
        DType = dtype;
        _stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _stream.Write(new byte[ShardHeader.Bytes]);
    }

    public string Path { get; }

    public TokenDType DType { get; }

    public long TokenCount { get; private set; }

    /// <summary>Writes a whole shard at once.</summary>
    public static void Write(string path, ReadOnlySpan<int> tokens, TokenDType dtype)
    {
        using var writer = new ShardWriter(path, dtype);
        writer.Append(tokens);
        writer.Complete();
    }

    public void Append(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (TokenCount + tokens.Length > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"A shard holds at most {int.MaxValue} tokens (its header count is an int32).");
        int width = DType.BytesPerToken();
        int perChunk = StagingBytes / width;
        while (!tokens.IsEmpty)
        {
            int n = Math.Min(perChunk, tokens.Length);
            var chunk = tokens[..n];
            var bytes = _staging.AsSpan(0, n * width);
            if (DType == TokenDType.UInt16)
            {
                for (int i = 0; i < n; i++)
                {
                    int t = chunk[i];
                    if ((uint)t > ushort.MaxValue)
                        throw new ArgumentOutOfRangeException(nameof(tokens), $"Token id {t} does not fit a uint16 shard ({Path}).");
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes[(2 * i)..], (ushort)t);
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    int t = chunk[i];
                    if (t < 0)
                        throw new ArgumentOutOfRangeException(nameof(tokens), $"Negative token id {t} ({Path}).");
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes[(4 * i)..], (uint)t);
                }
            }
            _stream.Write(bytes);
            TokenCount += n;
            tokens = tokens[n..];
        }
    }

    /// <summary>Writes the header and flushes the file to disk.</summary>
    public void Complete()
    {
        if (_completed)
            return;
        Span<byte> header = stackalloc byte[ShardHeader.Bytes];
        ShardHeader.Write(header, DType, checked((int)TokenCount));
        _stream.Position = 0;
        _stream.Write(header);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        _completed = true;
    }

    public void Dispose()
    {
        if (!_completed)
        {
            _completed = true;
            _stream.Dispose();
        }
    }
}
