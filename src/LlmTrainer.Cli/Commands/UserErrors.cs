using System.CommandLine;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// Runs a command's action so that a user error prints one line to the invocation's error writer, as
/// Program.Main does, instead of the parser's stack trace.
/// </summary>
internal static class UserErrors
{
    public static int Run(ParseResult parse, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (LlmTrainerException e)
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
