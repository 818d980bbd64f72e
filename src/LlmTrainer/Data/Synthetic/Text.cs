namespace LlmTrainer.Data;

/// <summary>Small English helpers for the story templates.</summary>
internal static class Text
{
    private static readonly string[] ConsonantSoundVowels = ["uni", "use", "one", "eu", "ukulele"];

    /// <summary>"a" or "an" for the word that follows.</summary>
    public static string A(string next)
    {
        string w = next.ToLowerInvariant();
        if (w.StartsWith("hour", StringComparison.Ordinal) || w.StartsWith("honest", StringComparison.Ordinal))
            return "an";
        if (ConsonantSoundVowels.Any(p => w.StartsWith(p, StringComparison.Ordinal)))
            return "a";
        return "aeiou".Contains(w[0]) ? "an" : "a";
    }

    /// <summary>The phrase with its article: "an old kite".</summary>
    public static string WithA(string phrase) => $"{A(phrase)} {phrase}";

    public static string Cap(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
