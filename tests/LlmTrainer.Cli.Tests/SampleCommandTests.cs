using System.Diagnostics;
using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

/// <summary>A very small trained run, made once for the sample command tests.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public TrainedRunFixture()
    {
        Directory.CreateDirectory(Root);
        var text = Path.Combine(Root, "stories.txt");
        new SyntheticStories(4).WriteText(text, 200);
        var data = Path.Combine(Root, "data");
        new PrepareJob(new PrepareOptions([text], data, VocabSize: 300, ValFraction: 0.05)).Run();
        var (code, stdout, stderr) = CliRunner.Run(
            "train", "--data", data, "--out_dir", Run, "--max_iters", "4", "--batch_size", "4", "--block_size", "32", "--d_model", "32",
            "--n_layer", "2", "--n_head", "4", "--n_kv_head", "2", "--warmup_iters", "2", "--eval_interval", "2", "--eval_iters", "1",
            "--log_interval", "1", "--device", "cpu");
        if (code != 0) throw new InvalidOperationException("training the fixture run failed: " + stdout + stderr);
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "llmtrain-cli-sample-" + Guid.NewGuid().ToString("N")[..8]);

    public string Run => Path.Combine(Root, "run");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class SampleCommandTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    private string Best => Path.Combine(fixture.Run, "checkpoints", "best");

    [Fact]
    public void Json_gives_one_object_per_prompt_with_its_samples()
    {
        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", Best, "--prompt", "Once upon", "--prompt", "The dog \"Rex\"",
                                                   "--num-samples", "2", "--max-new-tokens", "6", "--seed", "4", "--json", "--device", "cpu");
        Assert.True(code == 0, stderr);
        Assert.Contains("using checkpoint", stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        var second = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal("Once upon", first.GetProperty("prompt").GetString());
        Assert.Equal("The dog \"Rex\"", second.GetProperty("prompt").GetString());
        Assert.Equal(2, first.GetProperty("samples").GetArrayLength());
        Assert.InRange(first.GetProperty("tokens").GetInt32(), 2, 12);
        Assert.True(first.GetProperty("tokens_per_sec").GetDouble() > 0);
        Assert.Equal(4, first.GetProperty("seed").GetInt64());

        // The same seed gives the same samples.
        var again = CliRunner.Run("sample", "--checkpoint", Best, "--prompt", "Once upon", "--prompt", "The dog \"Rex\"",
                                  "--num-samples", "2", "--max-new-tokens", "6", "--seed", "4", "--json", "--device", "cpu");
        Assert.Equal(Samples(stdout), Samples(again.Stdout));
    }

    [Fact]
    public void The_prompt_gets_the_document_start_token_unless_no_bos()
    {
        var args = new[] { "sample", "--checkpoint", Best, "--prompt", "Once upon", "--max-new-tokens", "2", "--temperature", "0", "--json", "--device", "cpu" };
        var withBos = CliRunner.Run(args);
        var noBos = CliRunner.Run([.. args, "--no-bos"]);
        Assert.True(withBos.ExitCode == 0, withBos.Stderr);
        Assert.True(noBos.ExitCode == 0, noBos.Stderr);
        var tokenizer = LlmTrainer.Tokenization.Tokenizer.Load(Path.Combine(fixture.Run, "tokenizer.json"));
        int promptTokens = tokenizer.Encode("Once upon").Length;
        Assert.Equal(promptTokens + 1, JsonDocument.Parse(withBos.Stdout).RootElement.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(promptTokens, JsonDocument.Parse(noBos.Stdout).RootElement.GetProperty("prompt_tokens").GetInt32());
    }

    private static string Samples(string jsonLines) => string.Join("|", jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("samples").ToString()));

    [Fact]
    public void Text_streams_after_the_prompt_and_stats_go_to_stderr()
    {
        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", fixture.Run, "--prompt", "Once upon a time", "--max-new-tokens", "5",
                                                   "--temperature", "0");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("Once upon a time", stdout);
        Assert.Contains("best checkpoint of run", stderr);
        Assert.Contains("tokens/s", stderr);
        Assert.DoesNotContain("tokens/s", stdout);

        var several = CliRunner.Run("sample", "--checkpoint", fixture.Run, "--prompt", "Once", "--num-samples", "2", "--max-new-tokens", "4", "--seed", "1");
        Assert.True(several.ExitCode == 0, several.Stderr);
        Assert.Contains("--- sample 1 ---\nOnce", several.Stdout);
        Assert.Contains("--- sample 2 ---\nOnce", several.Stdout);

        var beams = CliRunner.Run("sample", "--checkpoint", fixture.Run, "--prompt", "Once", "--beams", "2", "--num-samples", "2", "--max-new-tokens", "4");
        Assert.True(beams.ExitCode == 0, beams.Stderr);
        Assert.Contains("--- sample 2 ---", beams.Stdout);
    }

    [Theory]
    [InlineData("--top-p", "1.5", "--top-p must be in (0, 1]")]
    [InlineData("--top-k", "0", "--top-k must be at least 1")]
    [InlineData("--temperature", "-0.5", "--temperature must be 0")]
    [InlineData("--beams", "0", "--beams must be at least 1")]
    public void A_bad_option_value_is_a_clear_error(string option, string value, string message)
    {
        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", Best, option, value);
        Assert.Equal(1, code);
        Assert.Contains(message, stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Stop_strings_take_escapes_for_newlines_and_tabs()
    {
        Assert.Equal("\n\n", Commands.SampleCommand.Unescape(@"\n\n"));
        Assert.Equal("a\tb\\n", Commands.SampleCommand.Unescape(@"a\tb\\n"));
        Assert.Equal(@"C:\x", Commands.SampleCommand.Unescape(@"C:\x"));

        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", Best, "--prompt", "Once", "--stop", @"\n", "--stop", " ",
                                                   "--max-new-tokens", "30", "--json", "--seed", "2");
        Assert.True(code == 0, stderr);
        var sample = JsonDocument.Parse(stdout).RootElement.GetProperty("samples")[0].GetString()!;
        Assert.DoesNotContain('\n', sample);
        Assert.DoesNotContain(' ', sample);
    }

    [Fact]
    public void Temperature_with_beam_search_is_an_error()
    {
        var (code, _, stderr) = CliRunner.Run("sample", "--checkpoint", Best, "--beams", "3", "--temperature", "0.7");
        Assert.Equal(1, code);
        Assert.Contains("--temperature does not apply to beam search", stderr);
    }

    [Fact]
    public void An_empty_prompt_file_is_an_error_that_names_it()
    {
        var file = Path.Combine(fixture.Root, "empty-prompt.txt");
        File.WriteAllText(file, "  \n");
        var (code, _, stderr) = CliRunner.Run("sample", "--checkpoint", Best, "--prompt-file", file);
        Assert.Equal(1, code);
        Assert.Contains("empty-prompt.txt", stderr);
        Assert.Contains("is empty", stderr);

        var prompt = Path.Combine(fixture.Root, "prompt.txt");
        File.WriteAllText(prompt, "The little cat\n");
        var ok = CliRunner.Run("sample", "--checkpoint", Best, "--prompt-file", prompt, "--max-new-tokens", "3", "--json");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal("The little cat", JsonDocument.Parse(ok.Stdout).RootElement.GetProperty("prompt").GetString());
    }

    [Fact]
    public void A_file_given_as_the_checkpoint_is_not_a_checkpoint_rather_than_missing()
    {
        string file = Path.Combine(fixture.Root, "not-a-checkpoint.bin");
        File.WriteAllBytes(file, [0x7F, (byte)'E', (byte)'L', (byte)'F', 0, 1, 2]);
        foreach (var command in new[] { "sample", "eval" })
        {
            var (code, _, stderr) = CliRunner.Run(command, "--checkpoint", file);
            Assert.Equal(1, code);
            Assert.Contains($"error: '{file}' is a file, not a checkpoint", stderr);
            Assert.DoesNotContain("does not exist", stderr);
        }
    }

    [Fact]
    public void Without_a_checkpoint_it_uses_the_newest_run_or_says_there_is_none()
    {
        var empty = Path.Combine(fixture.Root, "empty-cwd");
        Directory.CreateDirectory(empty);
        var (code, _, stderr) = RunIn(empty, "sample", "--prompt", "Hi");
        Assert.Equal(1, code);
        Assert.Contains("no trained run found", stderr);
        Assert.Contains("llmtrain train", stderr);

        var cwd = Path.Combine(fixture.Root, "with-runs");
        CopyDirectory(fixture.Run, Path.Combine(cwd, "runs", "tiny-1"));
        var found = RunIn(cwd, "sample", "--prompt", "Hi", "--max-new-tokens", "3", "--device", "cpu");
        Assert.True(found.ExitCode == 0, found.Stderr);
        Assert.Contains("newest run", found.Stderr);
        Assert.StartsWith("Hi", found.Stdout);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunIn(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "llmtrain.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "llmtrain sample did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
