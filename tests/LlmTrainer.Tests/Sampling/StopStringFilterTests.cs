using LlmTrainer.Sampling;

namespace LlmTrainer.Tests.Sampling;

public sealed class StopStringFilterTests
{
    private static (string Shown, List<string> Pieces, StopStringFilter Filter) Stream(string[] stops, params string[] pieces)
    {
        var f = new StopStringFilter(stops);
        var shown = new List<string>();
        foreach (var p in pieces) shown.Add(f.Push(p));
        shown.Add(f.Flush());
        return (string.Concat(shown), shown, f);
    }

    [Fact]
    public void Text_ends_before_the_first_stop_string_even_across_pieces()
    {
        var (shown, pieces, f) = Stream(["\n\n", "THE END"], "Once upon", " a time. TH", "E E", "ND and more");
        Assert.Equal("Once upon a time. ", shown);
        Assert.True(f.Stopped);
        Assert.Equal("THE END", f.Matched);
        Assert.DoesNotContain(pieces, p => p.Contains('T', StringComparison.Ordinal) && p.Contains("TH", StringComparison.Ordinal));
    }

    [Fact]
    public void A_partial_match_that_does_not_complete_comes_out_whole()
    {
        var (shown, pieces, f) = Stream(["worlds"], "hello wor", "ld", "!", " bye");
        Assert.Equal("hello world! bye", shown);
        Assert.False(f.Stopped);
        Assert.Equal("hello ", pieces[0]); // "wor" held back while it could begin the stop string
    }

    [Fact]
    public void The_earliest_stop_string_wins_and_without_stops_text_passes_through()
    {
        Assert.Equal("a", Stream(["c", "b"], "abc").Shown);
        Assert.Equal("abc", Stream([], "a", "b", "c").Shown);
        Assert.Equal("held", Stream(["held back"], "held").Shown); // flushed at the end
    }
}
