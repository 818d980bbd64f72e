using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

/// <summary>Writes a prepared directory (shards + meta.json) from given token streams, without a tokenizer.</summary>
public static class PreparedFixture
{
    public static DatasetMeta Write(string directory, int[] train, int[] val, int vocabSize, string hash = "abc123", long shardTokens = 1000)
    {
        Directory.CreateDirectory(directory);
        var dtype = TokenDTypes.ForVocabulary(vocabSize);
        SplitMeta WriteSplit(string name, int[] tokens)
        {
            using var writer = new ShardSetWriter(directory, name, dtype, shardTokens);
            writer.Append(tokens);
            return new SplitMeta(1, tokens.Length, writer.Complete());
        }
        var meta = new DatasetMeta(
            DatasetMeta.CurrentFormatVersion, DatasetMeta.CreatedByThisVersion,
            new TokenizerMeta("tokenizer.json", hash, 0, "test"), vocabSize, dtype.Name(),
            WriteSplit("train", train), WriteSplit("val", val),
            [new SourceMeta("test", "txt", 2, 0)], new DedupMeta(false, 2, 0), 0, 0.5, shardTokens);
        meta.Save(directory);
        return meta;
    }
}
