using System.CommandLine;
using LlmTrainer;
using LlmTrainer.Cli.Commands;

namespace LlmTrainer.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.OutputEncoding = System.Text.Encoding.UTF8;
        var root = BuildRoot();
        try
        {
            // Our own handler below prints user errors without a stack trace.
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (DllNotFoundException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (LlmTrainerException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Every command llmtrain knows; one file per command under Commands/.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("llmtrain: pretrain LLaMA-style language models and sample from them");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return InfoCommand.Create();
        yield return TokenizerCommand.Create();
        yield return TrainCommand.Create();
        yield return EvalCommand.Create();
        yield return SampleCommand.Create();
        yield return BenchCommand.Create();
        yield return DataCommand.Create();
        yield return PrepareCommand.Create();
    }
}
