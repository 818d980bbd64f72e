using System.Text.RegularExpressions;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class SyntheticStoriesTests
{
    [Fact]
    public void SameSeed_SameStories_OtherSeed_OtherStories()
    {
        var a = new SyntheticStories(42).Stories(50).ToList();
        Assert.Equal(a, new SyntheticStories(42).Stories(50));
        var b = new SyntheticStories(43).Stories(50).ToList();
        Assert.True(a.Zip(b).Count(p => p.First == p.Second) == 0);
        // Random access gives the same text as sequential generation.
        Assert.Equal(a[17], new SyntheticStories(42).Story(17));
    }

    [Fact]
    public void Vocabulary_HasAtLeast1500DistinctWords()
    {
        var words = new HashSet<string>();
        foreach (string story in new SyntheticStories(1).Stories(2000))
        {
            foreach (Match m in Regex.Matches(story.ToLowerInvariant(), "[a-z]+"))
                words.Add(m.Value);
        }
        Assert.True(words.Count >= 1500, $"only {words.Count} distinct words");
    }

    [Fact]
    public void Stories_AreDistinct_AndVaried()
    {
        var stories = new SyntheticStories(5).Stories(5000).ToList();
        Assert.Equal(stories.Count, stories.Distinct().Count());
        // No two stories share their first two sentences often: the openings are combinatorial.
        var openings = stories.Select(s => string.Join(' ', s.Split(". ").Take(2))).Distinct().Count();
        Assert.True(openings > 4900, $"only {openings} distinct openings");
        double averageLength = stories.Average(s => s.Length);
        Assert.InRange(averageLength, 500, 1500);
    }

    [Fact]
    public void Stories_AreWellFormed()
    {
        foreach (string story in new SyntheticStories(9).Stories(1000))
        {
            Assert.DoesNotContain("{", story);
            Assert.DoesNotContain("  ", story);
            Assert.DoesNotContain("<|endoftext|>", story);
            Assert.True(char.IsUpper(story[0]));
            Assert.Matches("[.!?\"]$", story);
            Assert.DoesNotMatch(@"[.!?] [a-z]", story);
            Assert.Contains("\n\n", story);
            // Quotes come in pairs.
            Assert.Equal(0, story.Count(c => c == '"') % 2);
        }
        // Dialogue, feelings and endings show up across stories.
        var some = new SyntheticStories(9).Stories(200).ToList();
        Assert.True(some.Count(s => s.Contains('"')) > 150);
        Assert.True(some.Count(s => Regex.IsMatch(s, @"\bfelt\b")) > 100);
    }

    [Fact]
    public void WriteText_IsTinyStoriesFormat_ThatTheReaderReadsBack()
    {
        using var dir = new TempDirectory();
        string path = dir.File("synth.txt");
        var stories = new SyntheticStories(3);
        long bytes = stories.WriteText(path, 2500);
        Assert.Equal(new FileInfo(path).Length, bytes);
        Assert.Contains("\n<|endoftext|>\n", File.ReadAllText(path));
        var read = new DocumentReader([path]).Read().Select(d => d.Text).ToList();
        Assert.Equal(stories.Stories(2500), read);
    }
}
