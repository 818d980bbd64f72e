namespace LlmTrainer.Config;

/// <summary>
/// One key of <see cref="TrainConfig"/>: its snake_case name, its type, and how to read and set it. <see cref="Unused"/>
/// says why the key has no effect in a given config (the model cannot use it), or null when it applies.
/// </summary>
internal sealed record ConfigKey(
    string Name, ConfigValueType Type, Func<TrainConfig, object> Get, Func<TrainConfig, object, TrainConfig> Set, Func<TrainConfig, string?>? Unused = null)
{
    /// <summary>Why the key does nothing in <paramref name="config"/>, or null when it applies.</summary>
    public string? UnusedIn(TrainConfig config) => Unused?.Invoke(config);

    public string TypeDescription => Type switch
    {
        ConfigValueType.Integer => "an integer",
        ConfigValueType.LongInteger => "an integer",
        ConfigValueType.Number => "a number",
        ConfigValueType.Boolean => "true or false",
        ConfigValueType.Text => "a string",
        ConfigValueType.Data => "'builtin', a path, or a list of {path, weight}",
        _ => "a list of {until, data}",
    };
}
