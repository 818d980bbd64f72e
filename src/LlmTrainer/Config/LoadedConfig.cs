namespace LlmTrainer.Config;

/// <summary>A validated config and where its values came from.</summary>
/// <param name="Config">The config, with <see cref="TrainConfig.Name"/> filled in.</param>
/// <param name="Origin">The config file: "built-in config 'tiny'" or "config file /abs/path.json".</param>
/// <param name="KeySources">For each key set by a layer, the layer that won: the file, an environment variable or the command line.</param>
public sealed record LoadedConfig(TrainConfig Config, string Origin, IReadOnlyDictionary<string, string> KeySources);
