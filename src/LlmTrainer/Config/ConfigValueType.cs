namespace LlmTrainer.Config;

/// <summary>How a config key's text is parsed, and how it is named in error messages.</summary>
internal enum ConfigValueType
{
    Integer,
    LongInteger,
    Number,
    Boolean,
    Text,
    Data,
    Stages,
}
