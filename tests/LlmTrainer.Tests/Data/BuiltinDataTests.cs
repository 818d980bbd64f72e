using System.Security.Cryptography;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Data;

public sealed class BuiltinDataTests
{
    [Fact]
    public void EnsurePrepared_MakesTheDataOnce_ThenReusesIt()
    {
        using var cache = new TempDirectory();
        var progress = new RecordingProgress();
        string dir = BuiltinData.EnsurePrepared(progress, cache.Path);

        Assert.Equal(Path.Combine(cache.Path, BuiltinData.DirectoryName), dir);
        Assert.Contains($"v{SyntheticStories.GeneratorVersion}", BuiltinData.DirectoryName);
        var meta = DatasetMeta.Load(dir);
        var tokenizer = Tokenizer.Load(Path.Combine(dir, meta.Tokenizer.File));
        Assert.Equal(BuiltinData.VocabSize, tokenizer.VocabSize);
        Assert.Equal(BuiltinData.Stories, meta.Train.Documents + meta.Val.Documents);
        Assert.StartsWith("synthetic-stories:v", meta.Sources[0].Path);
        using (var train = TokenDataset.Open(dir, "train", tokenizer.Hash))
        using (var val = TokenDataset.Open(dir, "val", tokenizer.Hash))
        {
            Assert.True(train.TokenCount > 1_000_000);
            Assert.True(val.TokenCount > 10_000);
            var window = new int[200];
            train.CopyTo(0, window.AsSpan());
            Assert.Equal(tokenizer.BosId, window[0]);
            string text = tokenizer.Decode(window.AsSpan(1));
            var stories = new SyntheticStories(BuiltinData.Seed).Stories(100);
            Assert.Contains(stories, story => story.StartsWith(text[..40], StringComparison.Ordinal));
        }
        // Only the finished directory is left in the cache.
        Assert.Equal([dir], Directory.GetFileSystemEntries(cache.Path));

        var again = new RecordingProgress();
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(dir, "meta.json"));
        Assert.Equal(dir, BuiltinData.EnsurePrepared(again, cache.Path));
        Assert.Empty(again.Infos);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(dir, "meta.json")));
    }

    [Fact]
    public void TheStoriesAreByteForByteTheTextOfGeneratorVersion1()
    {
        // The cache directory is named by the generator version, and the README's loss numbers were measured on
        // this text: a change to the generator's output must bump GeneratorVersion, and with it this hash.
        using var dir = new TempDirectory();
        string path = dir.File("stories.txt");
        long bytes = new SyntheticStories(BuiltinData.Seed).WriteText(path, BuiltinData.Stories);
        Assert.Equal(1, SyntheticStories.GeneratorVersion);
        Assert.Equal(25_475_432, bytes);
        Assert.Equal("aab4524421f5d38a9a75bc187d08918d59a63d039638efce656c3613339b66d2", Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }

    [Fact]
    public void CacheRoot_FollowsXdgCacheHome()
    {
        string? saved = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/some/cache");
            Assert.Equal("/some/cache/llmtrain", BuiltinData.CacheRoot());
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            Assert.EndsWith(Path.Combine(".cache", "llmtrain"), BuiltinData.CacheRoot());
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved);
        }
    }
}
