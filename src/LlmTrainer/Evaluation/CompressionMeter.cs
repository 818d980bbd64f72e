using System.Buffers;
using System.IO.Compression;

namespace LlmTrainer.Evaluation;

/// <summary>
/// Measures how small a general-purpose compressor makes a byte stream fed to it piece by piece, keeping only a
/// count of the output: gzip at its smallest setting (<see cref="CompressionLevel.SmallestSize"/>, which is zlib
/// level 9; window 32 KiB, default memory level) or Brotli at quality 11 with a 16 MiB window (lgwin 24). Feeding the
/// bytes in pieces gives the same output as compressing them in one go.
/// </summary>
public sealed class CompressionMeter : IDisposable
{
    public const string GzipName = "gzip -9";
    public const string BrotliName = "brotli q11";
    public const int BrotliQuality = 11;
    public const int BrotliWindow = 24;

    private readonly CountingStream? gzipOutput;
    private readonly GZipStream? gzip;
    private BrotliEncoder brotli;
    private readonly bool isBrotli;
    private byte[]? buffer;
    private long brotliOutput;
    private CompressorResult? result;

    private CompressionMeter(string name, bool isBrotli)
    {
        Name = name;
        this.isBrotli = isBrotli;
        if (isBrotli)
        {
            brotli = new BrotliEncoder(BrotliQuality, BrotliWindow);
            buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        }
        else
        {
            gzipOutput = new CountingStream();
            gzip = new GZipStream(gzipOutput, CompressionLevel.SmallestSize, leaveOpen: true);
        }
    }

    public string Name { get; }

    /// <summary>Bytes written so far.</summary>
    public long InputBytes { get; private set; }

    public static CompressionMeter Gzip() => new(GzipName, isBrotli: false);

    public static CompressionMeter Brotli() => new(BrotliName, isBrotli: true);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (result is not null)
            throw new InvalidOperationException("the meter has finished");
        InputBytes += bytes.Length;
        if (!isBrotli)
        {
            gzip!.Write(bytes);
            return;
        }
        while (!bytes.IsEmpty)
        {
            var status = brotli.Compress(bytes, buffer, out int consumed, out int written, isFinalBlock: false);
            if (status == OperationStatus.InvalidData)
                throw new InvalidOperationException("the Brotli encoder failed");
            brotliOutput += written;
            bytes = bytes[consumed..];
        }
    }

    /// <summary>Ends the stream and returns the compressed size.</summary>
    public CompressorResult Finish()
    {
        if (result is not null)
            return result;
        long compressed;
        if (!isBrotli)
        {
            gzip!.Dispose();
            compressed = gzipOutput!.Length;
        }
        else
        {
            OperationStatus status;
            do
            {
                status = brotli.Compress(ReadOnlySpan<byte>.Empty, buffer, out _, out int written, isFinalBlock: true);
                if (status == OperationStatus.InvalidData)
                    throw new InvalidOperationException("the Brotli encoder failed");
                brotliOutput += written;
            }
            while (status != OperationStatus.Done);
            compressed = brotliOutput;
        }
        result = new CompressorResult(Name, compressed, InputBytes);
        Dispose();
        return result;
    }

    public void Dispose()
    {
        gzip?.Dispose();
        if (isBrotli)
        {
            brotli.Dispose();
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
    }

    /// <summary>A write-only stream that keeps nothing but the number of bytes written.</summary>
    private sealed class CountingStream : Stream
    {
        private long length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => length;

        public override long Position
        {
            get => length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => length += count;

        public override void Write(ReadOnlySpan<byte> buffer) => length += buffer.Length;

        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
