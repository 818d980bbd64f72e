using System.Text.Json;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class TokenizerFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmtrain-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ByteLevelBpeTokenizer Gpt2Fixture() => Gpt2Files.Load(TokenizerTestData.Fixture("encoder.json"), TokenizerTestData.Fixture("vocab.bpe"));

    [Fact]
    public void Gpt2FilesEncodeExactlyLikeTiktoken()
    {
        var t = Gpt2Fixture();
        Assert.Equal(557, t.VocabSize);
        Assert.Equal(556, t.EndOfTextId);
        foreach (var c in TokenizerTestData.Cases)
        {
            Assert.Equal(c.Gpt2Ids, t.Encode(c.Text));
            Assert.Equal(c.Text, t.Decode(c.Gpt2Ids));
        }
    }

    [Fact]
    public void TiktokenRankFileEncodesExactlyLikeTiktoken()
    {
        var gpt2 = TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Gpt2, null);
        var cl100k = TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Cl100k, null);
        Assert.Equal(556, gpt2.EndOfTextId);
        foreach (var c in TokenizerTestData.Cases)
        {
            Assert.Equal(c.Gpt2Ids, gpt2.Encode(c.Text));
            Assert.Equal(c.Cl100kIds, cl100k.Encode(c.Text));
        }
    }

    [Fact]
    public void LoadDetectsEachFormat()
    {
        var fromDir = Tokenizer.Load(TokenizerTestData.FixtureDir());
        var fromEncoder = Tokenizer.Load(TokenizerTestData.Fixture("encoder.json"));
        var fromRanks = Tokenizer.Load(TokenizerTestData.Fixture("small.tiktoken"));
        var text = TokenizerTestData.Cases[^1].Text;
        Assert.Equal(TokenizerTestData.Cases[^1].Gpt2Ids, fromDir.Encode(text));
        Assert.Equal(fromDir.Hash, fromEncoder.Hash);
        Assert.Equal(TokenizerTestData.Cases[^1].Gpt2Ids, fromRanks.Encode(text));

        var json = Path.Combine(_dir, "tokenizer.json");
        fromDir.Save(json);
        Assert.Equal(fromDir.Hash, Tokenizer.Load(json).Hash);
        Assert.Equal(fromDir.Hash, Tokenizer.Load(_dir).Hash);
    }

    [Theory]
    [InlineData(Patterns.Gpt2)]
    [InlineData(Patterns.Cl100k)]
    public void TokenizerJsonSaveLoadEncodesIdentically(string pattern)
    {
        var original = Tokenizer.Train(TokenizerTestData.Corpus(), 700, new TokenizerTrainOptions(pattern, ["<|pad|>"]));
        var path = Path.Combine(_dir, "tokenizer.json");
        original.Save(path);
        var loaded = Tokenizer.Load(path);
        Assert.Equal(original.Hash, loaded.Hash);
        Assert.Equal(original.VocabSize, loaded.VocabSize);
        Assert.Equal(original.BosId, loaded.BosId);
        Assert.Equal(original.SpecialTokens.OrderBy(k => k.Value), loaded.SpecialTokens.OrderBy(k => k.Value));
        Assert.Equal(pattern, ((ByteLevelBpeTokenizer)loaded).Pattern);
        foreach (var text in TokenizerTestData.Adversarial(200))
            Assert.Equal(original.Encode(text, allowSpecial: true), loaded.Encode(text, allowSpecial: true));
    }

    [Fact]
    public void TokenizerJsonHasTheHuggingFaceShape()
    {
        var path = Path.Combine(_dir, "tokenizer.json");
        Gpt2Fixture().Save(path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Assert.Equal("BPE", root.GetProperty("model").GetProperty("type").GetString());
        Assert.Equal("ByteLevel", root.GetProperty("pre_tokenizer").GetProperty("type").GetString());
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        var vocab = root.GetProperty("model").GetProperty("vocab");
        Assert.Equal(556, vocab.EnumerateObject().Count());
        // GPT-2's byte alphabet: space is Ġ (U+0120), newline Ċ (U+010A).
        Assert.Equal(220, vocab.GetProperty("\u0120").GetInt32());
        Assert.Equal(198, vocab.GetProperty("\u010A").GetInt32());
        var added = root.GetProperty("added_tokens")[0];
        Assert.Equal(Tokenizer.EndOfText, added.GetProperty("content").GetString());
        Assert.Equal(556, added.GetProperty("id").GetInt32());
        Assert.True(added.GetProperty("special").GetBoolean());
        Assert.Equal(File.ReadLines(TokenizerTestData.Fixture("vocab.bpe")).Skip(1).Where(l => l.Length > 0),
            root.GetProperty("model").GetProperty("merges").EnumerateArray().Select(m => m.GetString()!));
    }

    [Fact]
    public void TokenizerJsonWithArrayMergesAndSplitPreTokenizerLoads()
    {
        // Newer Hugging Face files write merges as pairs and cl100k-style patterns with possessive quantifiers.
        var path = Path.Combine(_dir, "tokenizer.json");
        var saved = TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Cl100k, null);
        saved.Save(path);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        var merges = node["model"]!["merges"]!.AsArray();
        var pairs = new System.Text.Json.Nodes.JsonArray();
        foreach (var m in merges)
        {
            var parts = m!.GetValue<string>().Split(' ');
            pairs.Add(new System.Text.Json.Nodes.JsonArray(parts[0], parts[1]));
        }
        node["model"]!["merges"] = pairs;
        node["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = Patterns.Cl100kPossessive;
        File.WriteAllText(path, node.ToJsonString());
        var loaded = Tokenizer.Load(path);
        Assert.Equal(Patterns.Cl100k, ((ByteLevelBpeTokenizer)loaded).Pattern);
        Assert.Equal(saved.Hash, loaded.Hash);
        foreach (var c in TokenizerTestData.Cases)
            Assert.Equal(c.Cl100kIds, loaded.Encode(c.Text));
    }

    [Fact]
    public void MissingFileErrorNamesTheFile()
    {
        var missing = Path.Combine(_dir, "nope.json");
        var e = Assert.Throws<LlmTrainerException>(() => Tokenizer.Load(missing));
        Assert.Contains(missing, e.Message);
        e = Assert.Throws<LlmTrainerException>(() => Gpt2Files.Load(missing, TokenizerTestData.Fixture("vocab.bpe")));
        Assert.Contains(missing, e.Message);
        e = Assert.Throws<LlmTrainerException>(() => TiktokenFile.Load(missing, Patterns.Gpt2, null));
        Assert.Contains(missing, e.Message);
        e = Assert.Throws<LlmTrainerException>(() => Tokenizer.Load(_dir));
        Assert.Contains(_dir, e.Message);
    }

    [Theory]
    [InlineData("{ \"model\": ", "not valid JSON")]
    [InlineData("{ \"version\": \"1.0\" }", "\"model\"")]
    [InlineData("{ \"model\": { \"type\": \"WordPiece\", \"vocab\": {} } }", "WordPiece")]
    [InlineData("{ \"normalizer\": null, \"pre_tokenizer\": { \"type\": \"ByteLevel\" }, \"model\": { \"type\": \"BPE\", \"vocab\": { \"a\": 0 }, \"merges\": [] } }", "0x00")]
    [InlineData("{ \"normalizer\": null, \"pre_tokenizer\": { \"type\": \"Whitespace\" }, \"model\": { \"type\": \"BPE\", \"vocab\": {}, \"merges\": [] } }", "Whitespace")]
    public void MalformedTokenizerJsonErrorNamesFileAndProblem(string content, string expected)
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<LlmTrainerException>(() => Tokenizer.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MalformedRankFileErrorNamesFileAndLine()
    {
        var path = Path.Combine(_dir, "bad.tiktoken");
        File.WriteAllLines(path, [.. File.ReadLines(TokenizerTestData.Fixture("small.tiktoken")).Take(10), "not base64! 11"]);
        var e = Assert.Throws<LlmTrainerException>(() => Tokenizer.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("line 11", e.Message);
    }

    [Fact]
    public void MergeWithUnknownTokenErrorNamesFileAndLine()
    {
        var bpe = Path.Combine(_dir, "vocab.bpe");
        File.WriteAllLines(bpe, ["#version: 0.2", "h e", "zz q"]);
        var e = Assert.Throws<LlmTrainerException>(() => Gpt2Files.Load(TokenizerTestData.Fixture("encoder.json"), bpe));
        Assert.Contains(bpe, e.Message);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public void HashIsStableAcrossSaveAndLoadAndLowercaseHex()
    {
        var t = Gpt2Fixture();
        Assert.Matches("^[0-9a-f]{64}$", t.Hash);
        Assert.Equal(t.Hash, Gpt2Fixture().Hash);
        var tiktoken = TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Gpt2, null);
        Assert.NotEqual(t.Hash, tiktoken.Hash); // whole-piece lookup first is a different encoding rule
    }
}
