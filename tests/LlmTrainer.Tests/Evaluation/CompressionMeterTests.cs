using System.IO.Compression;
using System.Text;
using LlmTrainer.Data;
using LlmTrainer.Evaluation;

namespace LlmTrainer.Tests.Evaluation;

public sealed class CompressionMeterTests
{
    private static byte[] Text(int stories = 60) => Encoding.UTF8.GetBytes(string.Join("\n", new SyntheticStories(7).Stories(stories)));

    private static byte[] GzipOneShot(byte[] bytes, Func<Stream, GZipStream> open)
    {
        var output = new MemoryStream();
        using (var gzip = open(output))
            gzip.Write(bytes);
        return output.ToArray();
    }

    private static CompressorResult Feed(CompressionMeter meter, byte[] bytes, int chunk)
    {
        using (meter)
        {
            for (int at = 0; at < bytes.Length; at += chunk)
                meter.Write(bytes.AsSpan(at, Math.Min(chunk, bytes.Length - at)));
            return meter.Finish();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void Gzip_size_is_what_GZipStream_at_its_smallest_setting_writes_however_the_bytes_arrive(int chunk)
    {
        var bytes = Text();
        var expected = GzipOneShot(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize)).Length;
        var result = Feed(CompressionMeter.Gzip(), bytes, chunk);
        Assert.Equal("gzip -9", result.Name);
        Assert.Equal(expected, result.CompressedBytes);
        Assert.Equal(bytes.Length, result.OriginalBytes);
        Assert.Equal(8.0 * expected / bytes.Length, result.BitsPerByte, 12);
        Assert.Equal((double)expected / bytes.Length, result.Ratio, 12);
    }

    [Fact]
    public void SmallestSize_is_zlib_level_9()
    {
        var bytes = Text(400);
        var smallest = GzipOneShot(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize));
        var level9 = GzipOneShot(bytes, s => new GZipStream(s, new ZLibCompressionOptions { CompressionLevel = 9 }));
        var level6 = GzipOneShot(bytes, s => new GZipStream(s, new ZLibCompressionOptions { CompressionLevel = 6 }));
        Assert.Equal(level9, smallest);
        Assert.NotEqual(level6, smallest);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(777)]
    [InlineData(1 << 20)]
    public void Brotli_size_is_what_BrotliEncoder_at_quality_11_window_24_writes_however_the_bytes_arrive(int chunk)
    {
        var bytes = Text();
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
        Assert.True(BrotliEncoder.TryCompress(bytes, buffer, out int expected, quality: 11, window: 24));
        var result = Feed(CompressionMeter.Brotli(), bytes, chunk);
        Assert.Equal("brotli q11", result.Name);
        Assert.Equal(expected, result.CompressedBytes);
        Assert.Equal(8.0 * expected / bytes.Length, result.BitsPerByte, 12);
        // Brotli at its best beats gzip at its best on English-like text.
        Assert.True(expected < GzipOneShot(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize)).Length);
    }

    [Fact]
    public void Finish_is_idempotent_and_writing_after_it_throws()
    {
        using var meter = CompressionMeter.Brotli();
        meter.Write("hello"u8);
        var a = meter.Finish();
        Assert.Same(a, meter.Finish());
        Assert.Throws<InvalidOperationException>(() => meter.Write("more"u8));
    }
}
