using System.Text;

namespace LlmTrainer.Sampling;

/// <summary>
/// Streams text and ends it where a stop string first appears, without ever letting a piece of the stop string out:
/// text that could be the start of a stop string is held back until the next piece decides. Not thread-safe: one per
/// stream.
/// </summary>
public sealed class StopStringFilter(IReadOnlyList<string> stops)
{
    private readonly string[] stops = stops.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
    private readonly StringBuilder pending = new();

    /// <summary>Whether a stop string has appeared; the stream is over.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop string that ended the stream, if one did.</summary>
    public string? Matched { get; private set; }

    /// <summary>Adds text; returns what can be shown now (up to, not including, a stop string once one appears).</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0) return "";
        if (stops.Length == 0) return text;
        pending.Append(text);
        var s = pending.ToString();
        int at = -1;
        foreach (var stop in stops)
        {
            int i = s.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at))
            {
                at = i;
                Matched = stop;
            }
        }
        if (at >= 0)
        {
            Stopped = true;
            pending.Clear();
            return s[..at];
        }
        int hold = HeldBack(s);
        pending.Clear().Append(s, s.Length - hold, hold);
        return s[..^hold];
    }

    /// <summary>Ends the stream: text held back because it might have begun a stop string.</summary>
    public string Flush()
    {
        var s = pending.ToString();
        pending.Clear();
        return Stopped ? "" : s;
    }

    /// <summary>Length of the longest end of <paramref name="s"/> that is the beginning of a stop string.</summary>
    private int HeldBack(string s)
    {
        int best = 0;
        foreach (var stop in stops)
            for (int n = Math.Min(stop.Length - 1, s.Length); n > best; n--)
                if (s.AsSpan(s.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    best = n;
                    break;
                }
        return best;
    }
}
