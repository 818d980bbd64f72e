using System.IO.MemoryMappedFiles;
using System.Numerics;

namespace LlmTrainer.Data;

/// <summary>
/// One token file, memory-mapped read-only: tokens are read straight from the page cache, never copied
/// into managed memory as a whole. Opening validates the header against the file size (and, when given,
/// against the count meta.json lists), so a truncated or foreign file fails here with its name.
/// </summary>
public sealed unsafe class TokenShard : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _tokens;
    private bool _disposed;

    private TokenShard(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* tokens, TokenDType dtype, long count)
    {
        Path = path;
        _file = file;
        _view = view;
        _tokens = tokens;
        DType = dtype;
        TokenCount = count;
    }

    public string Path { get; }

    public TokenDType DType { get; }

    public long TokenCount { get; }

    /// <param name="path">The shard file.</param>
    /// <param name="expectedTokens">The count meta.json lists for this file, checked against the header.</param>
    public static TokenShard Open(string path, long? expectedTokens = null)
    {
        if (!File.Exists(path))
            throw new LlmTrainerException($"{path}: token file not found.");
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"{path}: cannot read token file ({e.Message}).", e);
        }

        if (length < ShardHeader.Bytes)
            throw new LlmTrainerException(
                $"{path}: {length} bytes is too small for a shard header ({ShardHeader.Bytes} bytes). " +
                ShardHeader.NotAShard);
        Span<byte> header = stackalloc byte[ShardHeader.Bytes];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            stream.ReadExactly(header);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"{path}: cannot read shard header ({e.Message}).", e);
        }
        var (dtype, count) = ShardHeader.Read(header, path);
        long expectedBytes = ShardHeader.Bytes + count * dtype.BytesPerToken();
        if (length != expectedBytes)
            throw new LlmTrainerException(
                $"{path}: header says {count} {dtype.Name()} tokens ({expectedBytes} bytes with the header) but the file has {length} bytes; " +
                "it is truncated or corrupt. Prepare the data again.");
        if (expectedTokens is long expected && expected != count)
            throw new LlmTrainerException(
                $"{path}: meta.json lists {expected} tokens for this shard but the file holds {count}; the directory mixes files from different preparations. Prepare the data again.");

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            return new TokenShard(path, file, view, basePointer + view.PointerOffset + ShardHeader.Bytes, dtype, count);
        }
        catch
        {
            view?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>The token at <paramref name="index"/>.</summary>
    public int this[long index]
    {
        get
        {
            ThrowIfOutside(index, 1);
            return DType == TokenDType.UInt16 ? ((ushort*)_tokens)[index] : (int)((uint*)_tokens)[index];
        }
    }

    /// <summary>Copies tokens from <paramref name="start"/> into <paramref name="destination"/> (int32, int64…).</summary>
    public void CopyTo<T>(long start, Span<T> destination) where T : unmanaged, IBinaryInteger<T>
    {
        ThrowIfOutside(start, destination.Length);
        if (DType == TokenDType.UInt16)
        {
            var source = new ReadOnlySpan<ushort>((ushort*)_tokens + start, destination.Length);
            for (int i = 0; i < source.Length; i++)
                destination[i] = T.CreateTruncating(source[i]);
        }
        else
        {
            var source = new ReadOnlySpan<uint>((uint*)_tokens + start, destination.Length);
            for (int i = 0; i < source.Length; i++)
                destination[i] = T.CreateTruncating(source[i]);
        }
    }

    private void ThrowIfOutside(long start, long count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start < 0 || count < 0 || start + count > TokenCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"Tokens [{start}, {start + count}) lie outside {Path} ({TokenCount} tokens).");
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
