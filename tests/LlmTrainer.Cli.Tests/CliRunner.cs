namespace LlmTrainer.Cli.Tests;

/// <summary>Runs the llmtrain CLI in-process with captured output (commands write to Console).</summary>
internal static class CliRunner
{
    private static readonly object ConsoleLock = new();

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        lock (ConsoleLock)
        {
            var (outWas, errWas) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o);
            Console.SetError(e);
            try
            {
                int code = Program.Main(args);
                return (code, o.ToString(), e.ToString());
            }
            finally
            {
                Console.SetOut(outWas);
                Console.SetError(errWas);
            }
        }
    }
}
