namespace LlmTrainer.Cli.Tests;

/// <summary>The README's section on watching and planning runs: its commands are there, and the plan it shows is what plan prints.</summary>
public sealed partial class ReadmeTests
{
    [Fact]
    public void The_readme_shows_runs_plot_and_plan()
    {
        var commands = CommandLines();
        foreach (var verb in new[] { "runs", "plot", "plan" })
            Assert.Contains(commands, c => c.StartsWith($"llmtrain {verb}", StringComparison.Ordinal));
        Assert.Contains("tensorboard --logdir runs", Readme);
    }

    [Fact]
    public void The_plan_in_the_readme_is_what_plan_prints()
    {
        const string command = "llmtrain plan --config 500m --device h100-80gb";
        var lines = Readme.Split('\n');
        int at = Array.FindIndex(lines, l => l.TrimEnd() == command);
        Assert.True(at > 0, $"the README has no code block starting with '{command}'");
        var shown = lines.Skip(at + 1).TakeWhile(l => !l.StartsWith("```", StringComparison.Ordinal)).Select(l => l.TrimEnd()).ToList();
        Assert.True(shown.Count > 10, "the README shows no output under the plan command");

        var (code, stdout, stderr) = CliRunner.Run(command.Split(' ').Skip(1).ToArray());
        Assert.True(code == 0, stderr);
        var printed = stdout.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Equal(printed.Where(l => l.Length > 0), shown.Where(l => l.Length > 0));
    }
}
