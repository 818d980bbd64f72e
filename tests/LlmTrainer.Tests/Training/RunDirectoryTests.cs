using LlmTrainer.Config;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

public sealed class RunDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmtrain-runs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly DateTimeOffset Noon = new(2025, 3, 4, 12, 5, 9, TimeSpan.Zero);

    [Fact]
    public void A_new_run_is_named_after_the_config_and_the_time()
    {
        var run = RunDirectory.Create(new TrainConfig { Name = "tiny" }, _root, Noon);
        Assert.Equal("tiny-20250304-120509", run.Name);
        Assert.True(Directory.Exists(run.Path));
        Assert.Equal(Path.Combine(_root, "tiny-20250304-120509", "config.json"), run.ConfigPath);
        Assert.Equal(Path.Combine(run.Path, "tokenizer.json"), run.TokenizerPath);
        Assert.Equal(Path.Combine(run.Path, "metrics.jsonl"), run.MetricsPath);
        Assert.Equal(Path.Combine(run.Path, "checkpoints"), run.CheckpointsPath);
        Assert.Equal(run.CheckpointsPath, run.Checkpoints.Directory);
    }

    [Fact]
    public void Runs_started_in_the_same_second_get_distinct_directories()
    {
        var config = new TrainConfig { Name = "tiny" };
        var names = Enumerable.Range(0, 3).Select(_ => RunDirectory.Create(config, _root, Noon).Name).ToArray();
        Assert.Equal(["tiny-20250304-120509", "tiny-20250304-120509-2", "tiny-20250304-120509-3"], names);
    }

    [Fact]
    public void Out_dir_is_used_as_given()
    {
        var outDir = Path.Combine(_root, "mine");
        var run = RunDirectory.Create(new TrainConfig { Name = "tiny", OutDir = outDir }, _root, Noon);
        Assert.Equal(outDir, run.Path);
        Assert.True(Directory.Exists(outDir));
        Assert.Equal(outDir, RunDirectory.Create(new TrainConfig { OutDir = outDir }, _root, Noon).Path); // still empty
        Assert.True(run.CreatedNew);

        File.WriteAllText(run.ConfigPath, "{}");
        var e = Assert.Throws<LlmTrainerException>(() => RunDirectory.Create(new TrainConfig { OutDir = outDir }, _root, Noon));
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void Remove_if_unused_takes_only_a_new_directory_where_training_never_began()
    {
        var fresh = RunDirectory.Create(new TrainConfig { OutDir = Path.Combine(_root, "fresh") }, _root, Noon);
        File.WriteAllText(fresh.ConfigPath, "{}");
        fresh.RemoveIfUnused();
        Assert.False(Directory.Exists(fresh.Path));

        var began = RunDirectory.Create(new TrainConfig { OutDir = Path.Combine(_root, "began") }, _root, Noon);
        File.WriteAllText(began.MetricsPath, "{}\n");
        began.RemoveIfUnused();
        Assert.True(Directory.Exists(began.Path));

        var existing = Path.Combine(_root, "existing-empty");
        Directory.CreateDirectory(existing);
        var given = RunDirectory.Create(new TrainConfig { OutDir = existing }, _root, Noon);
        Assert.False(given.CreatedNew);
        given.RemoveIfUnused();
        Assert.True(Directory.Exists(existing));
    }

    [Theory]
    [InlineData("my run/v2", "my-run-v2")]
    [InlineData("../escape", "escape")]
    [InlineData("   ", "run")]
    [InlineData("15m_fast-1.0", "15m_fast-1.0")]
    public void Names_become_safe_directory_names(string name, string expected) =>
        Assert.Equal(expected, RunDirectory.SafeName(name));

    [Fact]
    public void The_newest_run_is_the_last_started_one_with_a_config()
    {
        Assert.Null(RunDirectory.FindNewest(Path.Combine(_root, "absent")));
        // The order of config writes decides, not the names: "b" sorts after "a" but started first.
        var first = RunDirectory.Create(new TrainConfig { Name = "b" }, _root, Noon);
        var second = RunDirectory.Create(new TrainConfig { Name = "a" }, _root, Noon);
        RunDirectory.Create(new TrainConfig { Name = "c" }, _root, Noon); // never wrote its config
        File.WriteAllText(first.ConfigPath, "{}");
        File.WriteAllText(second.ConfigPath, "{}");
        File.SetLastWriteTimeUtc(first.ConfigPath, Noon.UtcDateTime);
        File.SetLastWriteTimeUtc(second.ConfigPath, Noon.UtcDateTime.AddMinutes(1));

        Assert.Equal(second.Path, RunDirectory.FindNewest(_root)!.Path);
        Assert.Equal(first.Path, RunDirectory.FindNewest(_root, run => run.Name.StartsWith('b'))!.Path);
    }

    [Fact]
    public void Opening_checks_that_it_is_a_run()
    {
        Assert.Contains("does not exist", Assert.Throws<LlmTrainerException>(() => RunDirectory.Open(Path.Combine(_root, "nope"))).Message);
        var bare = Directory.CreateDirectory(Path.Combine(_root, "bare")).FullName;
        Assert.Contains("no config.json", Assert.Throws<LlmTrainerException>(() => RunDirectory.Open(bare)).Message);
        File.WriteAllText(Path.Combine(bare, "config.json"), "{}");
        Assert.Equal(bare, RunDirectory.Open(bare).Path);
    }
}
