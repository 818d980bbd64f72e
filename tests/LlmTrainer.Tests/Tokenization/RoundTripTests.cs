using System.Text;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class RoundTripTests
{
    internal static readonly Lazy<Tokenizer> Trained = new(() => Tokenizer.Train(TokenizerTestData.Corpus(), 600));
    internal static readonly Lazy<Tokenizer> TrainedCl100k = new(() => Tokenizer.Train(TokenizerTestData.Corpus(), 600, new TokenizerTrainOptions(Patterns.Cl100k)));

    public static TheoryData<string> Tokenizers => ["gpt2", "cl100k", "tiktoken-file"];

    private static Tokenizer Get(string name) => name switch
    {
        "gpt2" => Trained.Value,
        "cl100k" => TrainedCl100k.Value,
        _ => TiktokenFile.Load(TokenizerTestData.Fixture("small.tiktoken"), Patterns.Gpt2, null),
    };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void AdversarialStringsRoundTripExactly(string name)
    {
        var tokenizer = Get(name);
        int strings = 0;
        foreach (var text in TokenizerTestData.Adversarial())
        {
            var ids = tokenizer.Encode(text);
            Assert.Equal(text, tokenizer.Decode(ids));
            Assert.Equal(Encoding.UTF8.GetBytes(text), tokenizer.DecodeBytes(ids));
            // Encoding again hits the cache and must give the same ids.
            Assert.Equal(ids, tokenizer.Encode(text));
            strings++;
        }
        Assert.Equal(400, strings);
    }

    [Fact]
    public void TrainedTokenizerCompressesItsOwnKindOfText()
    {
        var text = string.Join("\n", new SyntheticStories(99).Stories(20));
        var ids = Trained.Value.Encode(text);
        Assert.True(ids.Length < Encoding.UTF8.GetByteCount(text) / 2, $"{ids.Length} tokens for {text.Length} chars");
        Assert.Equal(text, Trained.Value.Decode(ids));
    }

    [Fact]
    public void LongRunsRoundTripThroughTheHeapMerger()
    {
        var tokenizer = Trained.Value;
        foreach (var text in new[] { new string(' ', 100_000), new string('!', 5000) + "x", string.Concat(Enumerable.Repeat("👍🏽", 2000)), new string('a', 3000) })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacter()
    {
        var tokenizer = Trained.Value;
        var text = "a\ud800b \udc00 \ud83d";
        var ids = tokenizer.Encode(text);
        Assert.Equal("a\ufffdb \ufffd \ufffd", tokenizer.Decode(ids));
        Assert.Equal(Encoding.UTF8.GetBytes(text), tokenizer.DecodeBytes(ids));
        Assert.Equal(tokenizer.Encode("a\ufffdb \ufffd \ufffd"), ids);
    }

    [Fact]
    public void SpanOverloadAppendsToTheList()
    {
        var tokenizer = Trained.Value;
        var output = new List<int> { -7 };
        tokenizer.Encode("Once upon a time".AsSpan(), output);
        Assert.Equal(-7, output[0]);
        Assert.Equal(tokenizer.Encode("Once upon a time"), output.Skip(1));
    }

    [Fact]
    public void EncodingIsThreadSafe()
    {
        var tokenizer = Tokenizer.Train(TokenizerTestData.Corpus(100, seed: 3), 500);
        var texts = TokenizerTestData.Adversarial(200, seed: 5).Concat(new SyntheticStories(11).Stories(200)).ToArray();
        // A second, separately trained instance encodes sequentially with its own cache.
        var sequential = Tokenizer.Train(TokenizerTestData.Corpus(100, seed: 3), 500);
        var expected = texts.Select(t => sequential.Encode(t)).ToArray();
        var results = new int[texts.Length][];
        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i % texts.Length] = tokenizer.Encode(texts[i % texts.Length]));
        for (int i = 0; i < texts.Length; i++)
            Assert.Equal(expected[i], results[i]);
    }

    [Fact]
    public void OutOfRangeIdIsAUserError()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Trained.Value.Decode([1, 100_000]));
        Assert.Contains("100000", e.Message);
    }
}
