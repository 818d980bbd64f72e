using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Tests;

/// <summary>A small run trained once for the eval tests: synthetic stories, a 300-token tokenizer, a few steps.</summary>
public sealed class EvalRunFixture : IDisposable
{
    public EvalRunFixture()
    {
        Root = Directory.CreateTempSubdirectory("llmtrain-cli-eval-").FullName;
        var text = Path.Combine(Root, "stories.txt");
        new SyntheticStories(3).WriteText(text, 300);
        Data = Path.Combine(Root, "data");
        new PrepareJob(new PrepareOptions([text], Data, VocabSize: 300, ValFraction: 0.1)).Run();
        Run = Path.Combine(Root, "runs", "small");
        var (code, stdout, stderr) = CliRunner.Run(
            "train", "--data", Data, "--out_dir", Run, "--max_iters", "4", "--batch_size", "4", "--block_size", "32",
            "--d_model", "32", "--n_layer", "2", "--n_head", "4", "--warmup_iters", "2", "--eval_interval", "1000", "--eval_iters", "1",
            "--log_interval", "1");
        if (code != 0)
            throw new InvalidOperationException($"training the fixture run failed:\n{stdout}\n{stderr}");
    }

    public string Root { get; }

    public string Data { get; }

    public string Run { get; }

    public Tokenizer Tokenizer => Tokenizer.Load(Path.Combine(Run, "tokenizer.json"));

    /// <summary>A copy of the run, to break in one way.</summary>
    public string CopyRun(string name)
    {
        var copy = Path.Combine(Root, "copies", name);
        foreach (var file in Directory.EnumerateFiles(Run, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class EvalCommandTests : IClassFixture<EvalRunFixture>
{
    private readonly EvalRunFixture f;

    public EvalCommandTests(EvalRunFixture fixture) => f = fixture;

    private static (int Exit, string Out, string Err) Eval(params string[] args) => DataCommandTests.Run(["eval", .. args]);

    private static JsonElement Json(string stdout) => JsonDocument.Parse(stdout).RootElement;

    /// <summary>llmtrain in its own process, for what depends on the working directory (the default runs/).</summary>
    private static (int Exit, string Out, string Err) EvalIn(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "llmtrain.dll"));
        psi.ArgumentList.Add("eval");
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "llmtrain eval did not finish");
        return (p.ExitCode, stdout, stderr.Result);
    }

    [Fact]
    public void Eval_of_the_val_split_prints_the_measures_and_the_compressor_table()
    {
        var (exit, stdout, stderr) = Eval("--checkpoint", f.Run, "--split", "val");
        Assert.True(exit == 0, stderr);
        Assert.Contains($"using the best checkpoint of run {f.Run}", stderr);
        Assert.Contains("eval: ", stderr); // progress, on standard error
        Assert.Contains($"val split of {f.Data}", stdout);
        foreach (var row in new[] { "tokens", "loss", "perplexity", "bits/byte", "throughput" })
            Assert.Contains(stdout.Split('\n'), l => l.StartsWith(row + " ", StringComparison.Ordinal));
        var table = stdout.Split('\n').SkipWhile(l => !l.StartsWith("compressor", StringComparison.Ordinal)).TakeWhile(l => l.Length > 0).ToList();
        Assert.Equal(["compressor", "llmtrain model", "gzip -9", "brotli q11", "original"], table.Select(l => l[..l.IndexOf("  ", StringComparison.Ordinal)]));
        Assert.Single(table.Select(l => l.Length).Distinct()); // aligned columns
        Assert.EndsWith("100.0%", table[^1]);
    }

    [Fact]
    public void Json_output_is_one_object_with_consistent_numbers()
    {
        var (exit, stdout, stderr) = Eval("--checkpoint", f.Run, "--json", "--batch-size", "3");
        Assert.True(exit == 0, stderr);
        var j = Json(stdout);
        var meta = DatasetMeta.Load(f.Data);
        long tokens = j.GetProperty("tokens").GetInt64();
        Assert.Equal(meta.Val.Tokens - 1, tokens);
        Assert.Equal("val", j.GetProperty("split").GetString());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("text").ValueKind);
        Assert.Equal(Path.Combine(f.Run, "checkpoints", "best"), j.GetProperty("checkpoint").GetString());
        Assert.Equal(32, j.GetProperty("block_size").GetInt32());
        Assert.Equal((tokens + 31) / 32, j.GetProperty("windows").GetInt64());
        double loss = j.GetProperty("loss").GetDouble();
        long bytes = j.GetProperty("bytes").GetInt64();
        Assert.InRange(loss, 0.5, Math.Log(300) + 1);
        Assert.Equal(Math.Exp(loss), j.GetProperty("perplexity").GetDouble(), 9);
        Assert.Equal(loss * tokens / Math.Log(2) / bytes, j.GetProperty("bits_per_byte").GetDouble(), 9);
        Assert.True(j.GetProperty("tokens_per_s").GetDouble() > 0);
        var c = j.GetProperty("compressors");
        Assert.Equal(j.GetProperty("bits_per_byte").GetDouble(), c.GetProperty("model").GetProperty("bits_per_byte").GetDouble(), 9);
        foreach (var name in new[] { "gzip", "brotli" })
        {
            var x = c.GetProperty(name);
            double size = x.GetProperty("compressed_bytes").GetDouble();
            Assert.InRange(size, 1, bytes);
            Assert.Equal(8 * size / bytes, x.GetProperty("bits_per_byte").GetDouble(), 9);
            Assert.Equal(size / bytes, x.GetProperty("ratio").GetDouble(), 9);
        }
        Assert.Equal("gzip -9", c.GetProperty("gzip").GetProperty("name").GetString());
        Assert.Equal("brotli q11", c.GetProperty("brotli").GetProperty("name").GetString());
    }

    [Fact]
    public void Max_tokens_and_the_train_split()
    {
        var (exit, stdout, stderr) = Eval("--checkpoint", f.Run, "--split", "train", "--max-tokens", "100", "--json");
        Assert.True(exit == 0, stderr);
        var j = Json(stdout);
        Assert.Equal(100, j.GetProperty("tokens").GetInt64());
        Assert.Equal(4, j.GetProperty("windows").GetInt64());
        Assert.Equal("train", j.GetProperty("split").GetString());
    }

    [Fact]
    public void A_text_file_is_tokenized_with_the_runs_tokenizer()
    {
        var stories = new SyntheticStories(11).Stories(5).ToList();
        var path = Path.Combine(f.Root, "eval-text.txt");
        File.WriteAllText(path, string.Join("\n<|endoftext|>\n", stories) + "\n");
        var (exit, stdout, stderr) = Eval("--checkpoint", f.Run, "--text", path, "--json");
        Assert.True(exit == 0, stderr);
        var j = Json(stdout);
        var tokenizer = f.Tokenizer;
        long expected = stories.Sum(s => 1 + tokenizer.Encode(s).Length) - 1;
        Assert.Equal(expected, j.GetProperty("tokens").GetInt64());
        // Bytes: the stories and the separators between them (the first separator is context, not a target).
        long bytes = stories.Sum(s => System.Text.Encoding.UTF8.GetByteCount(s)) + 13L * (stories.Count - 1);
        Assert.Equal(bytes, j.GetProperty("bytes").GetInt64());
        Assert.Equal(Path.GetFullPath(path), j.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("split").ValueKind);
    }

    [Fact]
    public void Split_and_text_together_an_empty_text_and_bad_numbers_are_errors()
    {
        var text = Path.Combine(f.Root, "some.txt");
        File.WriteAllText(text, "Tom ran.");
        var both = Eval("--checkpoint", f.Run, "--split", "val", "--text", text);
        Assert.Equal(1, both.Exit);
        Assert.Contains("either --split", both.Err);
        Assert.Contains("not both", both.Err);

        var empty = Path.Combine(f.Root, "empty.txt");
        File.WriteAllText(empty, "");
        var e = Eval("--checkpoint", f.Run, "--text", empty);
        Assert.Equal(1, e.Exit);
        Assert.Contains($"--text '{empty}' is empty", e.Err);

        Assert.Contains("--batch-size 0 must be at least 1", Eval("--checkpoint", f.Run, "--batch-size", "0").Err);
        Assert.Contains("--max-tokens -5 must be at least 1", Eval("--checkpoint", f.Run, "--max-tokens", "-5").Err);
        Assert.NotEqual(0, Eval("--checkpoint", f.Run, "--split", "test").Exit);
    }

    [Fact]
    public void A_split_that_was_not_prepared_says_which_files_are_missing_and_how_to_make_them()
    {
        var run = f.CopyRun("noval");
        var data = Path.Combine(f.Root, "data-noval");
        new PrepareJob(new PrepareOptions([Path.Combine(f.Root, "stories.txt")], data, TokenizerPath: Path.Combine(run, "tokenizer.json"), ValFraction: 0)).Run();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        config["data"] = data;
        File.WriteAllText(Path.Combine(run, "config.json"), config.ToJsonString());

        var (exit, _, stderr) = Eval("--checkpoint", run);
        Assert.Equal(1, exit);
        Assert.Contains($"the val split of {data} is not prepared", stderr);
        Assert.Contains("val_*.bin", stderr);
        Assert.Contains("llmtrain prepare --input", stderr);
        Assert.Equal(0, Eval("--checkpoint", run, "--split", "train", "--max-tokens", "10").Exit);
    }

    [Fact]
    public void A_checkpoint_whose_tokenizer_or_config_does_not_match_is_refused()
    {
        var tok = f.CopyRun("othertok");
        Tokenizer.Train(new SyntheticStories(8).Stories(50), 280).Save(Path.Combine(tok, "tokenizer.json"));
        var a = Eval("--checkpoint", tok);
        Assert.Equal(1, a.Exit);
        Assert.Contains("is not the tokenizer checkpoint", a.Err);

        var shape = f.CopyRun("othershape");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(shape, "config.json")))!;
        config["d_model"] = 64;
        File.WriteAllText(Path.Combine(shape, "config.json"), config.ToJsonString());
        var b = Eval("--checkpoint", shape);
        Assert.Equal(1, b.Exit);
        Assert.Contains("another shape", b.Err);
    }

    [Fact]
    public void Without_a_checkpoint_the_newest_run_is_used_and_without_runs_it_says_how_to_train_one()
    {
        var (exit, stdout, stderr) = EvalIn(f.Root, "--max-tokens", "50", "--json");
        Assert.True(exit == 0, stderr);
        Assert.Contains($"using the best checkpoint of the newest run, {f.Run}", stderr);
        Assert.Equal(50, Json(stdout).GetProperty("tokens").GetInt64());

        var nowhere = Directory.CreateDirectory(Path.Combine(f.Root, "nowhere")).FullName;
        var none = EvalIn(nowhere);
        Assert.Equal(1, none.Exit);
        Assert.Contains("no trained run found", none.Err);
        Assert.Contains("llmtrain train", none.Err);
        Assert.Equal("", none.Out);
    }
}
