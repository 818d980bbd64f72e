using System.Text.RegularExpressions;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class PreTokenizerTests
{
    private static string[] Pieces(PreTokenizer pre, string text)
    {
        var ranges = new List<Range>();
        pre.Split(text, ranges);
        return [.. ranges.Select(r => text[r])];
    }

    private static string[] RegexPieces(string pattern, string text)
    {
        // What .NET's engine does with the pattern, with unmatched gaps kept (the patterns match everything).
        return [.. Regex.Matches(text, pattern, RegexOptions.CultureInvariant).Select(m => m.Value)];
    }

    [Fact]
    public void Gpt2ScannerMatchesPythonRegexOnReferenceStrings()
    {
        var pre = PreTokenizer.Create(Patterns.Gpt2);
        Assert.IsType<Gpt2PreTokenizer>(pre);
        foreach (var c in TokenizerTestData.Cases)
            Assert.Equal(c.Gpt2Pieces, Pieces(pre, c.Text));
    }

    [Fact]
    public void Cl100kScannerMatchesPythonRegexOnReferenceStrings()
    {
        var pre = PreTokenizer.Create(Patterns.Cl100k);
        Assert.IsType<Cl100kPreTokenizer>(pre);
        foreach (var c in TokenizerTestData.Cases)
            Assert.Equal(c.Cl100kPieces, Pieces(pre, c.Text));
    }

    [Theory]
    [InlineData(Patterns.Gpt2)]
    [InlineData(Patterns.Cl100k)]
    public void ScannersMatchDotNetRegexOnBmpText(string pattern)
    {
        var scanner = PreTokenizer.Create(pattern);
        var regex = new RegexPreTokenizer(pattern);
        int compared = 0;
        foreach (var text in TokenizerTestData.Adversarial())
        {
            // .NET's Regex classifies UTF-16 units, so only text without surrogate pairs is comparable.
            if (text.Any(char.IsSurrogate))
                continue;
            Assert.Equal(Pieces(regex, text), Pieces(scanner, text));
            Assert.Equal(RegexPieces(pattern, text), Pieces(scanner, text));
            compared++;
        }
        Assert.True(compared > 100, $"only {compared} BMP-only strings");
    }

    [Fact]
    public void AstralLettersAreLettersNotSymbols()
    {
        // U+1D400..U+1D402 are mathematical bold capitals (category Lu).
        var pre = PreTokenizer.Create(Patterns.Gpt2);
        Assert.Equal(["a𝐀𝐁b", " 𝐂", "!"], Pieces(pre, "a𝐀𝐁b 𝐂!"));
        Assert.Equal(["😀😀", " 😀"], Pieces(pre, "😀😀 😀"));
    }

    [Fact]
    public void Cl100kSplitsDigitsInThreesAndKeepsSymbolPrefixOnWords()
    {
        var pre = PreTokenizer.Create(Patterns.Cl100k);
        Assert.Equal(["123", "456", "7", " ", "89"], Pieces(pre, "1234567 89"));
        Assert.Equal([".Hello", " world", "'S"], Pieces(pre, ".Hello world'S"));
        Assert.Equal(["x", " \n\n", "y"], Pieces(pre, "x \n\ny"));
    }

    [Fact]
    public void CustomPatternUsesRegexAndKeepsGapsBetweenMatches()
    {
        var pre = PreTokenizer.Create(@"\d+");
        Assert.IsType<RegexPreTokenizer>(pre);
        Assert.Equal(["ab", "12", "cd", "3"], Pieces(pre, "ab12cd3"));
    }

    [Fact]
    public void InvalidPatternIsAUserErrorThatMentionsAtomicGroups()
    {
        var e = Assert.Throws<LlmTrainerException>(() => PreTokenizer.Create(@"\p{L}++"));
        Assert.Contains("(?>", e.Message);
    }

    [Fact]
    public void LoneSurrogateIsItsOwnSymbolPiece()
    {
        var pre = PreTokenizer.Create(Patterns.Gpt2);
        Assert.Equal(["ab", "\ud800", " \udc00!"], Pieces(pre, "ab\ud800 \udc00!"));
    }
}
