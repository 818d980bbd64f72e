using System.Buffers.Binary;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class ShardTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int[] Tokens(int count, int modulo) => Enumerable.Range(0, count).Select(i => (int)((i * 7919L + 13) % modulo)).ToArray();

    [Theory]
    [InlineData(TokenDType.UInt16, 65536, 20240520, 1)]
    [InlineData(TokenDType.UInt32, 200_000, 20240801, 7)]
    public void WriteThenOpen_RoundTrips_WithTheLlmCHeader(TokenDType dtype, int vocab, int magic, int version)
    {
        string path = _dir.File("s.bin");
        int[] tokens = Tokens(5000, vocab);
        ShardWriter.Write(path, tokens, dtype);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(1024 + 5000 * dtype.BytesPerToken(), bytes.Length);
        Assert.Equal(magic, BinaryPrimitives.ReadInt32LittleEndian(bytes));
        Assert.Equal(version, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(5000, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.True(bytes.AsSpan(12, 1024 - 12).IndexOfAnyExcept((byte)0) < 0, "header ints 3..255 must be zero");
        int second = dtype == TokenDType.UInt16 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(1026)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(1028));
        Assert.Equal(tokens[1], second);

        using var shard = TokenShard.Open(path);
        Assert.Equal(dtype, shard.DType);
        Assert.Equal(5000, shard.TokenCount);
        var all = new int[5000];
        shard.CopyTo(0, all.AsSpan());
        Assert.Equal(tokens, all);
        var some = new long[10];
        shard.CopyTo(4990, some.AsSpan());
        Assert.Equal(tokens[4990..].Select(t => (long)t), some);
        Assert.Equal(tokens[123], shard[123]);
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.CopyTo(4995, new int[10].AsSpan()));
    }

    [Fact]
    public void UInt16Writer_RejectsIdsThatDoNotFit()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardWriter.Write(_dir.File("x.bin"), [1, 65536], TokenDType.UInt16));
    }

    [Fact]
    public void ShardSetWriter_CutsTheStreamIntoNumberedShards()
    {
        int[] tokens = Tokens(2500, 1000);
        using var writer = new ShardSetWriter(_dir.Path, "train", TokenDType.UInt16, 1000);
        writer.Append(tokens.AsSpan(0, 300));
        writer.Append(tokens.AsSpan(300, 1900));
        writer.Append(tokens.AsSpan(2200));
        var shards = writer.Complete();

        Assert.Equal([("train_000000.bin", 1000L), ("train_000001.bin", 1000L), ("train_000002.bin", 500L)], shards.Select(s => (s.File, s.Tokens)));
        var back = shards.SelectMany(s =>
        {
            using var shard = TokenShard.Open(_dir.File(s.File));
            var t = new int[shard.TokenCount];
            shard.CopyTo(0, t.AsSpan());
            return t;
        });
        Assert.Equal(tokens, back);
    }

    [Fact]
    public void EmptySplit_WritesNoFile()
    {
        using var writer = new ShardSetWriter(_dir.Path, "val", TokenDType.UInt16, 10);
        Assert.Empty(writer.Complete());
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    private string WriteShard(int count = 100)
    {
        string path = _dir.File("s.bin");
        ShardWriter.Write(path, Tokens(count, 500), TokenDType.UInt16);
        return path;
    }

    private static void Poke(string path, int offset, int value)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        f.Write(b);
    }

    [Fact]
    public void BadMagic_IsDetected_AndSaysHowToMakeShards()
    {
        string path = WriteShard();
        Poke(path, 0, 12345);
        var e = Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("bad shard magic 12345", e.Message);
        Assert.Contains("llmtrain prepare", e.Message);
    }

    [Fact]
    public void BadVersion_IsDetected()
    {
        string path = WriteShard();
        Poke(path, 4, 7);
        var e = Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("version 7", e.Message);
    }

    [Fact]
    public void TruncatedFile_IsDetected()
    {
        string path = WriteShard();
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
            f.SetLength(f.Length - 3);
        var e = Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("header says 100 uint16 tokens", e.Message);
    }

    [Fact]
    public void HeaderCountLargerThanFile_IsDetected()
    {
        string path = WriteShard();
        Poke(path, 8, 101);
        Assert.Contains("truncated or corrupt", Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path)).Message);
        Poke(path, 8, -1);
        Assert.Contains("negative", Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path)).Message);
    }

    [Fact]
    public void FileSmallerThanHeader_IsDetected()
    {
        string path = _dir.File("tiny.bin");
        File.WriteAllBytes(path, new byte[100]);
        var e = Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("too small", e.Message);
        Assert.Contains("llmtrain prepare", e.Message);
    }

    [Fact]
    public void CountDifferentFromMeta_IsDetected()
    {
        string path = WriteShard();
        var e = Assert.Throws<LlmTrainerException>(() => TokenShard.Open(path, expectedTokens: 99));
        Assert.Contains(path, e.Message);
        Assert.Contains("meta.json lists 99 tokens", e.Message);
    }

    [Fact]
    public void MissingFile_IsAClearError()
        => Assert.Contains("not found", Assert.Throws<LlmTrainerException>(() => TokenShard.Open(_dir.File("none.bin"))).Message);
}
