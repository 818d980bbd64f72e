namespace LlmTrainer.Config;

/// <summary>One key of <see cref="TrainConfig"/>: its snake_case name, its type, and how to read and set it.</summary>
internal sealed record ConfigKey(string Name, ConfigValueType Type, Func<TrainConfig, object> Get, Func<TrainConfig, object, TrainConfig> Set)
{
    public string TypeDescription => Type switch
    {
        ConfigValueType.Integer => "an integer",
        ConfigValueType.LongInteger => "an integer",
        ConfigValueType.Number => "a number",
        ConfigValueType.Boolean => "true or false",
        ConfigValueType.Text => "a string",
        _ => "'builtin', a path, or a list of {path, weight}",
    };
}
