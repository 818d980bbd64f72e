using System.Buffers.Binary;
using System.IO.Compression;

namespace LlmTrainer.Data;

/// <summary>
/// Decompresses a gzip file and, at its end, makes sure that the compressed data really ended there.
/// <see cref="GZipStream"/> reports a truncated file as a normal, shorter end of stream; this stream throws
/// <see cref="InvalidDataException"/> instead. The common case costs nothing: the decompressed size must match
/// the size recorded in the file's last four bytes (the last member's trailer). Only when it does not (a file of
/// several concatenated members, or a truncated one) is the file walked member by member to tell the two apart.
/// </summary>
internal sealed class CheckedGzipStream : ForwardReadStream
{
    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private long _produced;
    private bool _checked;

    public CheckedGzipStream(FileStream file)
    {
        _file = file;
        _gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
    }

    public const string TruncatedMessage = "unexpected end of the compressed data: the gzip file is truncated (an interrupted download or copy?)";

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _gzip.Read(buffer);
        _produced += n;
        if (n == 0 && buffer.Length > 0 && !_checked)
        {
            _checked = true;
            if (!EndsWithSize(_file, _produced) && !IsComplete(_file.Name))
                throw new InvalidDataException(TruncatedMessage);
        }
        return n;
    }

    private static bool EndsWithSize(FileStream file, long produced)
    {
        long length = file.Length;
        if (length < 18)
            return false;
        Span<byte> size = stackalloc byte[4];
        long position = file.Position;
        file.Position = length - 4;
        file.ReadExactly(size);
        file.Position = position;
        return BinaryPrimitives.ReadUInt32LittleEndian(size) == (uint)produced;
    }

    /// <summary>Walks the members exactly: each must have a header, deflate data that ends, and an 8-byte trailer.</summary>
    internal static bool IsComplete(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var input = new ByteAtATimeStream(file);
        byte[] scratch = new byte[1 << 16];
        byte[] trailer = new byte[8];
        bool first = true;
        while (true)
        {
            int b0 = file.ReadByte();
            if (b0 < 0)
                return !first;
            int b1 = file.ReadByte();
            if (b0 != 0x1F || b1 != 0x8B)
                return !first; // Trailing bytes that are not a member: gzip(1) ignores them, and so does GZipStream.
            first = false;
            if (!SkipHeader(file))
                return false;
            long produced = 0;
            // One byte per read: the inflater then never holds input beyond the end of the deflate data, so the
            // file's position afterwards is exactly where the trailer should start.
            using (var deflate = new DeflateStream(input, CompressionMode.Decompress, leaveOpen: true))
            {
                int n;
                while ((n = deflate.Read(scratch)) > 0)
                    produced += n;
            }
            if (file.ReadAtLeast(trailer, 8, throwOnEndOfStream: false) < 8)
                return false;
            if (BinaryPrimitives.ReadUInt32LittleEndian(trailer.AsSpan(4)) != (uint)produced)
                return false;
        }
    }

    private static bool SkipHeader(FileStream file)
    {
        Span<byte> fixedPart = stackalloc byte[8];
        if (file.ReadAtLeast(fixedPart, 8, throwOnEndOfStream: false) < 8 || fixedPart[0] != 8)
            return false;
        byte flags = fixedPart[1];
        if ((flags & 4) != 0)
        {
            int lo = file.ReadByte(), hi = file.ReadByte();
            if (hi < 0)
                return false;
            file.Position += lo | hi << 8;
        }
        for (int flag = 8; flag <= 16; flag <<= 1)
        {
            if ((flags & flag) == 0)
                continue;
            int b;
            while ((b = file.ReadByte()) > 0)
            {
            }
            if (b < 0)
                return false;
        }
        if ((flags & 2) != 0)
            file.Position += 2;
        return file.Position <= file.Length;
    }

    private sealed class ByteAtATimeStream(Stream inner) : ForwardReadStream
    {
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer) => buffer.IsEmpty ? 0 : inner.Read(buffer[..1]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _gzip.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>A stream read once from start to end: no seeking, no writing, no length.</summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
