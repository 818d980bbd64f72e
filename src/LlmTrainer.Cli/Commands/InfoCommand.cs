using System.CommandLine;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain info</c>: versions, libtorch build features, devices, threads.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show llmtrain and libtorch versions, build features, devices and threads");
        command.SetAction(_ =>
        {
            var version = typeof(InfoCommand).Assembly.GetName().Version;
            Console.WriteLine($"llmtrain {version}");
            return 0;
        });
        return command;
    }
}
