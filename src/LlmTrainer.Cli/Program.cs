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
        catch (Exception e) when (!Verbose)
        {
            Console.Error.WriteLine($"{RankPrefix()}error: {Describe(e)}");
            if (e is not (LlmTrainerException or DllNotFoundException))
                Console.Error.WriteLine($"(set {VerboseVariable}=1 for the stack trace)");
            return 1;
        }
    }

    /// <summary>In a data-parallel job of several workers, errors say which worker they come from.</summary>
    private static string RankPrefix() =>
        Environment.GetEnvironmentVariable("RANK") is { Length: > 0 } rank && Environment.GetEnvironmentVariable("WORLD_SIZE") is { Length: > 0 } world && world != "1"
            ? $"[rank {rank}] "
            : Environment.GetEnvironmentVariable("SLURM_PROCID") is { Length: > 0 } proc && Environment.GetEnvironmentVariable("SLURM_NTASKS") is { Length: > 0 } tasks && tasks != "1"
                ? $"[rank {proc}] "
                : "";

    /// <summary>With LLMTRAIN_VERBOSE=1 an unexpected error ends with its stack trace instead of one line.</summary>
    public const string VerboseVariable = "LLMTRAIN_VERBOSE";

    private static bool Verbose => Environment.GetEnvironmentVariable(VerboseVariable) is "1" or "true";

    /// <summary>One line for an error: the project's own say what to do; the others get what they are and a hint.</summary>
    private static string Describe(Exception e) => e switch
    {
        TypeInitializationException { InnerException: { } inner } => Describe(inner),
        LlmTrainerException or DllNotFoundException => e.Message,
        Torch.TorchOutOfMemoryException => $"out of memory: {FirstLine(e.Message)}. Use a smaller batch_size or block_size " +
                                           "(with grad_accum_steps to keep the tokens per step), activation_checkpointing, or a smaller model.",
        Torch.TorchException => $"libtorch: {FirstLine(e.Message)}",
        UnauthorizedAccessException => $"permission denied: {e.Message}",
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) =>
            $"the disk is full: {e.Message}. Free space and resume (the last complete checkpoint is kept).",
        IOException => $"I/O error: {e.Message}",
        _ => $"unexpected {e.GetType().Name}: {FirstLine(e.Message)}",
    };

    private static string FirstLine(string message)
    {
        int newline = message.IndexOf('\n');
        return (newline < 0 ? message : message[..newline]).TrimEnd('.', ' ', '\r');
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
        yield return ExportCommand.Create();
        yield return BenchCommand.Create();
        yield return DataCommand.Create();
        yield return PrepareCommand.Create();
        yield return RunsCommand.Create();
        yield return PlanCommand.Create();
        yield return PlotCommand.Create();
    }
}
