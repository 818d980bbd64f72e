namespace LlmTrainer.Config;

/// <summary>How <see cref="ConfigLoader.Load"/> finds its layers.</summary>
public sealed record ConfigLoadOptions
{
    /// <summary>A config file path or built-in name given outside the argument list (it may also come as <c>--config</c> in the arguments).</summary>
    public string? Config { get; init; }

    /// <summary>Environment variables to read instead of the process's (for tests and embedding); null reads the process environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Whether the paths under <c>data</c> must exist (commands that train or evaluate need them; <c>info</c>-like commands do not).</summary>
    public bool CheckDataPaths { get; init; } = true;
}
