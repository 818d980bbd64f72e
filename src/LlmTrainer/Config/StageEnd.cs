using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmTrainer.Config;

/// <summary>
/// Where a training stage ends: after a number of optimizer steps, or once a number of training tokens has been
/// consumed (the global count, over every rank). Written <c>3000</c>, <c>"3000 steps"</c>, <c>"500M tokens"</c> or
/// <c>"1.5B tokens"</c> (k, M, B and T multiply by 10³, 10⁶, 10⁹, 10¹²).
/// </summary>
public readonly partial record struct StageEnd(long Value, bool InTokens)
{
    /// <summary>Parses the forms above; null when the text is none of them or not a whole positive count.</summary>
    public static StageEnd? Parse(string text)
    {
        var match = Form().Match(text.Trim());
        // In decimal, so that "2.01M" is 2,010,000 and not 2,009,999.9999999998 (not whole) as in binary floating point.
        if (!match.Success || !decimal.TryParse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            return null;
        decimal scale = match.Groups["scale"].Value switch
        {
            "k" or "K" => 1e3m,
            "m" or "M" => 1e6m,
            "b" or "B" => 1e9m,
            "t" or "T" => 1e12m,
            _ => 1,
        };
        if (n > 9e18m / scale)
            return null;
        n *= scale;
        if (n < 1 || decimal.Floor(n) != n)
            return null;
        return new StageEnd((long)n, match.Groups["unit"].Value.StartsWith("token", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The step at which the stage ends, for a run consuming <paramref name="tokensPerStep"/> tokens per optimizer step.</summary>
    public long Step(long tokensPerStep) => InTokens ? (Value + tokensPerStep - 1) / tokensPerStep : Value;

    public override string ToString() => InTokens
        ? Value.ToString(CultureInfo.InvariantCulture) + " tokens"
        : Value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<n>[0-9]+(\.[0-9]+)?([eE]\+?[0-9]+)?)\s*(?<scale>[kKmMbBtT])?\s*(?<unit>steps?|tokens?)?$", RegexOptions.IgnoreCase)]
    private static partial Regex Form();
}
