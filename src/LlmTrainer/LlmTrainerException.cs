namespace LlmTrainer;

/// <summary>
/// An error caused by the user's input (a file, a key, a value). The message must name what is wrong
/// and how to fix it; the CLI prints it without a stack trace and exits with status 1.
/// </summary>
public sealed class LlmTrainerException : Exception
{
    public LlmTrainerException(string message) : base(message) { }

    public LlmTrainerException(string message, Exception inner) : base(message, inner) { }
}
