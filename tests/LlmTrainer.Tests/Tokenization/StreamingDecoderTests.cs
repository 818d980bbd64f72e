using System.Text;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    // Byte-only tokenizer: every id is one byte, so multi-byte characters always arrive split.
    private static readonly Tokenizer Bytes = BpeTrainer.Train(new Dictionary<string, long>(), 257, new TokenizerTrainOptions(), LlmTrainer.Progress.NullProgress.Instance);

    [Fact]
    public void HoldsBackSplitCharactersUntilComplete()
    {
        var decoder = Bytes.CreateStreamingDecoder();
        var emoji = Encoding.UTF8.GetBytes("😀"); // F0 9F 98 80
        Assert.Equal("a", decoder.Push('a'));
        Assert.Equal("", decoder.Push(emoji[0]));
        Assert.Equal("", decoder.Push(emoji[1]));
        Assert.Equal("", decoder.Push(emoji[2]));
        Assert.Equal("😀", decoder.Push(emoji[3]));
        var e = Encoding.UTF8.GetBytes("é");
        Assert.Equal("", decoder.Push(e[0]));
        Assert.Equal("éb", decoder.Push(e[1]) + decoder.Push('b'));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void StreamedTextEqualsWholeDecodeForEveryAdversarialString()
    {
        var t = RoundTripTests.Trained.Value;
        foreach (var text in TokenizerTestData.Adversarial(200, seed: 77))
        {
            var decoder = t.CreateStreamingDecoder();
            var sb = new StringBuilder();
            foreach (int id in t.Encode(text))
            {
                string piece = decoder.Push(id);
                // Never emits half a surrogate pair or a replacement character for a split sequence.
                Assert.False(piece.Length > 0 && char.IsHighSurrogate(piece[^1]));
                sb.Append(piece);
            }
            sb.Append(decoder.Flush());
            Assert.Equal(text, sb.ToString());
        }
    }

    [Fact]
    public void FlushEmitsReplacementForAnIncompleteCharacter()
    {
        var decoder = Bytes.CreateStreamingDecoder();
        Assert.Equal("", decoder.Push(0xE6));
        Assert.Equal("", decoder.Push(0x9D));
        Assert.Equal("\ufffd", decoder.Flush());
        Assert.Equal("x", decoder.Push('x'));
    }

    [Fact]
    public void InvalidBytesBecomeReplacementWithoutStalling()
    {
        var decoder = Bytes.CreateStreamingDecoder();
        Assert.Equal("\ufffd", decoder.Push(0x80));
        Assert.Equal("", decoder.Push(0xC3));
        Assert.Equal("\ufffdA", decoder.Push('A'));
    }

    [Fact]
    public void SpecialTokensStreamAsTheirText()
    {
        var decoder = Bytes.CreateStreamingDecoder();
        Assert.Equal(Tokenizer.EndOfText, decoder.Push(Bytes.BosId));
    }
}
