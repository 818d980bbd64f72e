using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class SpecialTokenTests
{
    private static readonly Lazy<ByteLevelBpeTokenizer> WithExtras = new(() =>
        Tokenizer.Train(TokenizerTestData.Corpus(100), 500, new TokenizerTrainOptions(ExtraSpecialTokens: ["<|end|>", "<|endoftext|>x"])));

    /// <summary>A byte-level BPE document starts and ends with &lt;|endoftext|&gt;: it is both the BOS and the EOS, and a sample ends there.</summary>
    [Fact]
    public void EndOfTextIsTheDocumentStartAndEnd()
    {
        var t = WithExtras.Value;
        Assert.Equal(TokenizerKind.ByteLevelBpe, t.Kind);
        Assert.Equal(t.EndOfTextId, t.BosId);
        Assert.Equal(t.EndOfTextId, t.EosId);
        Assert.True(t.EndsText(t.EndOfTextId));
        Assert.False(t.EndsText(t.SpecialTokens["<|end|>"]));
        Assert.False(t.EndsText(t.Encode("a")[0]));
    }

    [Fact]
    public void SpecialTokensAreRecognisedOnlyWhenAllowed()
    {
        var t = WithExtras.Value;
        var text = "Hello<|endoftext|>World";
        var allowed = t.Encode(text, allowSpecial: true);
        Assert.Single(allowed, t.EndOfTextId);
        Assert.Equal([.. t.Encode("Hello"), t.EndOfTextId, .. t.Encode("World")], allowed);
        var plain = t.Encode(text);
        Assert.DoesNotContain(t.EndOfTextId, plain);
        Assert.Equal(text, t.Decode(plain));
        Assert.Equal(text, t.Decode(allowed));
    }

    [Fact]
    public void LongestSpecialWinsAndRepeatsAreAllFound()
    {
        var t = WithExtras.Value;
        int eot = t.EndOfTextId, end = t.SpecialTokens["<|end|>"], eotx = t.SpecialTokens["<|endoftext|>x"];
        Assert.Equal([eotx, eot, eot, end, .. t.Encode(" a"), end], t.Encode("<|endoftext|>x<|endoftext|><|endoftext|><|end|> a<|end|>", allowSpecial: true));
    }

    [Fact]
    public void DocumentsJoinedWithEndOfTextSplitBack()
    {
        var t = WithExtras.Value;
        var docs = new SyntheticStories(4).Stories(30).ToArray();
        var ids = t.Encode(string.Join(Tokenizer.EndOfText, docs), allowSpecial: true);
        Assert.Equal(docs.Length - 1, ids.Count(i => i == t.EndOfTextId));
        Assert.Equal(t.Encode(docs[0]), ids.TakeWhile(i => i != t.EndOfTextId));
    }

    [Fact]
    public void LoadedTiktokenFileAcceptsGivenSpecialTokens()
    {
        var t = TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Gpt2, new Dictionary<string, int> { ["<|im_start|>"] = 600 });
        // <|endoftext|> was not given, so it takes the next id after the highest.
        Assert.Equal(601, t.EndOfTextId);
        Assert.Equal(602, t.VocabSize);
        Assert.Equal([600, 601], t.Encode("<|im_start|><|endoftext|>", allowSpecial: true));
        Assert.Equal("<|im_start|>", t.Decode([600]));
    }
}
