using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class TokenDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int[] Range(int count, int offset = 0) => Enumerable.Range(offset, count).ToArray();

    [Fact]
    public void Open_ReadsTheSplitAsOneStreamAcrossShards()
    {
        int[] train = Range(3500);
        PreparedFixture.Write(_dir.Path, train, Range(50, 10), vocabSize: 4096, shardTokens: 1000);
        using var ds = TokenDataset.Open(_dir.Path, "train", "abc123");
        Assert.Equal(4, ds.Shards.Count);
        Assert.Equal(3500, ds.TokenCount);
        Assert.Equal(4096, ds.VocabSize);
        var window = new long[700];
        ds.CopyTo(650, window.AsSpan());
        Assert.Equal(Enumerable.Range(650, 700).Select(i => (long)i), window);
        Assert.Equal(3499, ds[3499]);

        using var val = TokenDataset.Open(_dir.Path, "val");
        Assert.Equal(50, val.TokenCount);
        Assert.Equal(10, val[0]);
    }

    [Fact]
    public void Open_RefusesADifferentTokenizer()
    {
        PreparedFixture.Write(_dir.Path, Range(100), Range(10), 4096, hash: "aaaa");
        var e = Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path, "train", "bbbb"));
        Assert.Contains("tokenizer aaaa", e.Message);
        Assert.Contains("tokenizer bbbb", e.Message);
        Assert.Contains("meta.json", e.Message);
    }

    [Fact]
    public void Open_DetectsShardCountsThatDisagreeWithMeta()
    {
        var meta = PreparedFixture.Write(_dir.Path, Range(2500), Range(10), 4096);
        (meta with { Train = meta.Train with { Shards = [meta.Train.Shards[0] with { Tokens = 999 }, .. meta.Train.Shards.Skip(1)] } }).Save(_dir.Path);
        var e = Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path));
        Assert.Contains("train_000000.bin", e.Message);
        Assert.Contains("meta.json lists 999 tokens", e.Message);

        (meta with { Train = meta.Train with { Tokens = 1 } }).Save(_dir.Path);
        Assert.Contains("has 1 tokens", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path)).Message);

        (meta with { TokenDtype = "uint32" }).Save(_dir.Path);
        Assert.Contains("meta.json says uint32", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path)).Message);
    }

    [Fact]
    public void Open_ReportsMissingShardsAndBrokenMeta()
    {
        PreparedFixture.Write(_dir.Path, Range(2500), Range(10), 4096);
        File.Delete(_dir.File("train_000001.bin"));
        Assert.Contains("train_000001.bin: token file not found", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path)).Message);

        File.WriteAllText(_dir.File("meta.json"), "{\"format_version\": 1}");
        var e = Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path));
        Assert.Contains("meta.json: not a valid meta.json", e.Message);
    }

    [Fact]
    public void Open_EmptyValSplit_SaysHowToFixIt()
    {
        PreparedFixture.Write(_dir.Path, Range(100), [], 4096);
        Assert.Contains("--val-fraction", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path, "val")).Message);
    }

    [Fact]
    public void Open_MissingDirectory_SaysHowToCreateIt()
        => Assert.Contains("llmtrain prepare", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.File("nothing"))).Message);

    [Fact]
    public void TokensOutsideTheVocabulary_AreReportedWhenRead()
    {
        PreparedFixture.Write(_dir.Path, [1, 2, 3, 900, 4], Range(10), vocabSize: 512);
        using var ds = TokenDataset.Open(_dir.Path);
        var ok = new int[3];
        ds.CopyTo(0, ok.AsSpan());
        var e = Assert.Throws<LlmTrainerException>(() => ds.CopyTo(1, new int[4].AsSpan()));
        Assert.Contains("token id 900 at position 3", e.Message);
    }

    [Fact]
    public void DirectoryWithoutMeta_OpensLlmCShards_ButCannotCheckTheTokenizer()
    {
        ShardWriter.Write(_dir.File("fineweb_train_000001.bin"), Range(10), TokenDType.UInt16);
        ShardWriter.Write(_dir.File("fineweb_train_000002.bin"), Range(5, 100), TokenDType.UInt16);
        ShardWriter.Write(_dir.File("fineweb_val_000000.bin"), Range(7), TokenDType.UInt16);
        using (var ds = TokenDataset.Open(_dir.Path))
        {
            Assert.Equal(15, ds.TokenCount);
            Assert.Equal(100, ds[10]);
            Assert.Null(ds.Meta);
        }
        Assert.Contains("has no meta.json", Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path, "train", "h")).Message);
    }

    [Fact]
    public void DirectoryWithoutMeta_RefusesShardsOfMixedWidths_AndHeaderlessFiles()
    {
        ShardWriter.Write(_dir.File("a_train_1.bin"), Range(10), TokenDType.UInt16);
        ShardWriter.Write(_dir.File("a_train_2.bin"), Range(10), TokenDType.UInt32);
        var e = Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(_dir.Path));
        Assert.Contains("mix uint16 and uint32", e.Message);

        // A nanoGPT/llama2.c file (uint16 tokens, no header) is named and the way to make shards is given.
        using var headerless = new TempDirectory();
        string path = headerless.File("train.bin");
        File.WriteAllBytes(path, Range(3000).SelectMany(t => BitConverter.GetBytes((ushort)t)).ToArray());
        e = Assert.Throws<LlmTrainerException>(() => TokenDataset.Open(headerless.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains("bad shard magic", e.Message);
        Assert.Contains("llmtrain prepare", e.Message);
    }
}
