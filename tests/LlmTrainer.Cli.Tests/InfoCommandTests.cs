namespace LlmTrainer.Cli.Tests;

public sealed class InfoCommandTests
{
    [Fact]
    public void Info_reports_the_libtorch_it_uses_and_the_threads()
    {
        var (code, stdout, _) = CliRunner.Run("info");
        Assert.Equal(0, code);
        Assert.Matches(@"libtorch\s+\d+\.\d+\.\d+", stdout);
        Assert.Contains("built with CUDA:", stdout);
        Assert.Matches(@"threads\s+\d+", stdout);
        // The CPU builds made by scripts/setup.sh and scripts/libtorch2.sh have Gloo; a CPU libtorch never has NCCL.
        Assert.Contains("distributed gloo yes, nccl no", stdout);
    }

    [Fact]
    public void Unknown_command_fails_with_a_message()
    {
        var (code, _, stderr) = CliRunner.Run("no-such-command");
        Assert.NotEqual(0, code);
        Assert.Contains("no-such-command", stderr);
    }
}
