using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

/// <summary>A staged curriculum from a config file, end to end: train, the run's config.json, eval on every stage's data, resume.</summary>
public sealed class StagesCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("llmtrain-cli-stages-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Prepare(string name, int seed, string? tokenizer)
    {
        var text = Path.Combine(root, name + ".txt");
        new SyntheticStories((ulong)seed).WriteText(text, 200);
        var dir = Path.Combine(root, name);
        new PrepareJob(new PrepareOptions([text], dir, VocabSize: tokenizer is null ? 300 : null, TokenizerPath: tokenizer, ValFraction: 0.1)).Run();
        return dir;
    }

    [Fact]
    public void A_staged_config_trains_each_stage_logs_each_datasets_val_loss_and_resumes_in_its_stage()
    {
        var simple = Prepare("simple", 3, null);
        var rich = Prepare("rich", 4, Path.Combine(simple, "tokenizer.json"));
        var config = Path.Combine(root, "curriculum.json");
        File.WriteAllText(config, $$"""
            { "max_iters": 8, "batch_size": 4, "block_size": 32, "d_model": 32, "n_layer": 1, "n_head": 4, "warmup_iters": 2,
              "eval_interval": 4, "eval_iters": 1, "log_interval": 2,
              "stages": [ { "until": 4, "data": "{{simple}}" },
                          { "data": [ { "path": "{{simple}}", "weight": 1 }, { "path": "{{rich}}", "weight": 1 } ] } ] }
            """);
        var run = Path.Combine(root, "runs", "staged");
        var (code, stdout, stderr) = CliRunner.Run("train", "--config", config, "--out_dir", run, "--max_iters", "6");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"stage 1/2 from step 0 until step 4: {simple}", stdout);
        Assert.Contains("stage 2/2 from step 4 to the end", stdout);
        Assert.Contains("step 6/6 | stage 2/2 | loss", stdout);
        Assert.Matches(@"step 4: train loss [0-9.]+, val loss [0-9.]+ \(simple [0-9.]+, rich [0-9.]+\)", stdout);

        // The run's config.json keeps the stages, with absolute paths, and no data key beside them.
        using (var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))))
        {
            Assert.False(saved.RootElement.TryGetProperty("data", out _));
            Assert.Equal(4, saved.RootElement.GetProperty("stages")[0].GetProperty("until").GetInt32());
        }
        var evals = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("event").GetString() == "eval").ToList();
        Assert.All(evals, e => Assert.Equal(2, e.GetProperty("source_val_loss").EnumerateObject().Count()));

        // eval reads the val split of every stage's data.
        var eval = CliRunner.Run("eval", "--checkpoint", run, "--split", "val", "--max-tokens", "200");
        Assert.True(eval.ExitCode == 0, eval.Stdout + eval.Stderr);
        Assert.Contains(simple, eval.Stderr + eval.Stdout);
        Assert.Contains(rich, eval.Stderr + eval.Stdout);

        // Resumed with a higher max_iters, the run continues in the stage its step is in.
        var resumed = CliRunner.Run("train", "--resume", run, "--max_iters", "8");
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.Contains("stage 2/2 from step 6 to the end", resumed.Stdout);
        Assert.Contains("step 8/8 | stage 2/2 | loss", resumed.Stdout);
    }
}
