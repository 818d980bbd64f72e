namespace LlmTrainer.Cli;

/// <summary>How commands print a model's size: a mixture of experts shows the parameters one token uses as well.</summary>
internal static class ParameterText
{
    public static string Format(long total, long active) =>
        active == total ? $"{total:N0} parameters" : $"{total:N0} parameters ({active:N0} active)";
}
