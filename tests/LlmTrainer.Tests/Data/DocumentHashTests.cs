using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class DocumentHashTests
{
    [Theory]
    [InlineData("Once upon a time.", "Once upon a time.")]
    [InlineData("Once upon a time.", "  Once  upon\ta\r\ntime.\n")]
    [InlineData("a b", "a\u00A0\u2003 b")]
    [InlineData("x", "\u3000x\u2029")]
    public void WhitespaceDifferences_HashAlike(string a, string b)
        => Assert.Equal(DocumentHash.Compute(a), DocumentHash.Compute(b));

    [Theory]
    [InlineData("Once upon a time.", "Once upon a time!")]
    [InlineData("ab", "a b")]
    [InlineData("Tom", "tom")]
    public void DifferentText_HashesApart(string a, string b)
        => Assert.NotEqual(DocumentHash.Compute(a), DocumentHash.Compute(b));

    [Fact]
    public void IsStable_AcrossRunsAndMachines()
    {
        // SHA-256 of the UTF-16LE bytes of "hello world", first 8 bytes little-endian: fixed forever, since it decides splits.
        Assert.Equal(0x3ee89f4b941df736UL, DocumentHash.Compute("  hello \n world "));
        Assert.Equal(DocumentHash.Compute(""), DocumentHash.Compute(" \n\t "));
    }

    [Fact]
    public void SplitScores_AreUniform()
    {
        var counts = new int[10];
        for (int i = 0; i < 20_000; i++)
            counts[(int)(DocumentHash.SplitScore(DocumentHash.Compute($"document {i}")) * 10)]++;
        // 2,000 expected per decile (σ ≈ 42); 6σ bounds.
        Assert.All(counts, c => Assert.InRange(c, 1_745, 2_255));
    }
}
