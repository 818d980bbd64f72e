namespace LlmTrainer.Config;

/// <summary>One problem with one key: what is wrong with its value and how to fix it.</summary>
internal sealed record ConfigError(string Key, string Message);
