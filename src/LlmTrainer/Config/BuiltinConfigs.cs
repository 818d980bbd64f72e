using System.Reflection;

namespace LlmTrainer.Config;

/// <summary>The JSON files of <c>configs/</c>, embedded in the assembly so that <c>--config 15m</c> works from anywhere.</summary>
public static class BuiltinConfigs
{
    private const string Prefix = "LlmTrainer.Configs.";
    private const string Suffix = ".json";

    /// <summary>The config used when none is given: small enough to train on a laptop CPU in minutes.</summary>
    public const string Default = "tiny";

    private static readonly Assembly Assembly = typeof(BuiltinConfigs).Assembly;

    /// <summary>Names of the built-in configs, e.g. <c>tiny</c>, <c>15m</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(Suffix, StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^Suffix.Length])
        .OrderBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal)
        .ToArray();

    public static bool Exists(string name) => Names.Contains(name);

    /// <summary>The JSON text of a built-in config; null when there is none of that name.</summary>
    public static string? Read(string name)
    {
        using var stream = Assembly.GetManifestResourceStream(Prefix + name + Suffix);
        if (stream is null)
            return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
