using System.CommandLine;
using LlmTrainer.Config;

namespace LlmTrainer.Cli.Commands;

/// <summary>The <c>--config</c> option of <c>train</c> and <c>plan</c>, naming every built-in config.</summary>
internal static class ConfigOption
{
    public static Option<string?> Create() => new("--config")
    {
        Description = $"A config file or a built-in name ({string.Join(", ", BuiltinConfigs.Names)}); default {BuiltinConfigs.Default}",
    };
}
