using System.Text.Json;

namespace LlmTrainer.Cli.Tests;

public sealed class ExportCommandTests(TrainedRunFixture fixture) : IClassFixture<TrainedRunFixture>
{
    private string Out(string name) => Path.Combine(fixture.Root, "exports-" + Guid.NewGuid().ToString("N")[..8], name);

    private static string Greedy(string checkpoint)
    {
        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", checkpoint, "--prompt", "Once upon a time", "--max-new-tokens", "12",
                                                   "--temperature", "0", "--device", "cpu");
        Assert.True(code == 0, stderr);
        return stdout;
    }

    [Fact]
    public void Every_format_exports_and_the_hf_and_llama2c_exports_sample_and_evaluate_as_the_run_does()
    {
        var hf = Out("hf");
        var (code, stdout, stderr) = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf);
        Assert.True(code == 0, stderr);
        Assert.Contains("best checkpoint of run", stderr);
        foreach (var name in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
        {
            Assert.True(File.Exists(Path.Combine(hf, name)), name);
            Assert.Contains(Path.Combine(hf, name), stdout);
        }

        var bin = Out("model.bin");
        (code, stdout, stderr) = CliRunner.Run("export", fixture.Run, "--format", "llama2c", "--out", bin);
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(bin)!, "tokenizer.bin")));

        var gguf = Out("model.gguf");
        (code, _, stderr) = CliRunner.Run("export", fixture.Run, "--format", "gguf", "--out", gguf, "--dtype", "bf16");
        Assert.True(code == 0, stderr);
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(gguf)[..4]);

        var expected = Greedy(fixture.Run);
        Assert.Equal(expected, Greedy(hf));
        Assert.Equal(expected, Greedy(bin));

        var text = Path.Combine(fixture.Root, "eval.txt");
        File.WriteAllText(text, "Once upon a time there was a little dog. He liked to run in the park.\n");
        double Loss(string checkpoint)
        {
            var r = CliRunner.Run("eval", "--checkpoint", checkpoint, "--text", text, "--json", "--device", "cpu");
            Assert.True(r.ExitCode == 0, r.Stderr);
            return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("loss").GetDouble();
        }
        Assert.Equal(Loss(fixture.Run), Loss(hf), 6);

        var split = CliRunner.Run("eval", "--checkpoint", hf, "--device", "cpu");
        Assert.Equal(1, split.ExitCode);
        Assert.Contains("--text FILE", split.Stderr);
    }

    [Fact]
    public void Bad_options_and_an_existing_destination_are_refused_with_the_fix()
    {
        var hf = Out("hf");
        var r = CliRunner.Run("export", fixture.Run, "--format", "onnx", "--out", hf);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--format 'onnx'", r.Stderr);
        Assert.Contains("hf, llama2c or gguf", r.Stderr);

        r = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf, "--dtype", "int4");
        Assert.Contains("--dtype 'int4'", r.Stderr);
        r = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf, "--max-shard-size", "big");
        Assert.Contains("--max-shard-size 'big'", r.Stderr);
        r = CliRunner.Run("export", fixture.Run, "--format", "llama2c", "--out", Out("m.bin"), "--dtype", "f16");
        Assert.Contains("float32", r.Stderr);
        Assert.False(Directory.Exists(hf));

        r = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf, "--max-shard-size", "20kB");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(hf, "model.safetensors.index.json")));
        r = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already exists", r.Stderr);
    }

    [Fact]
    public void Train_init_from_starts_a_new_run_from_an_export_with_its_shape()
    {
        var hf = Out("hf");
        Assert.Equal(0, CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf).ExitCode);
        var data = Path.Combine(fixture.Root, "data");
        var run = Out("run");
        var (code, stdout, stderr) = CliRunner.Run("train", "--init_from", hf, "--data", data, "--out_dir", run, "--max_iters", "2", "--batch_size", "2",
            "--block_size", "16", "--warmup_iters", "1", "--eval_interval", "2", "--eval_iters", "1", "--device", "cpu");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"weights     from {hf}", stdout);
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))))
        {
            Assert.Equal(hf, config.RootElement.GetProperty("init_from").GetString());
            Assert.Equal(32, config.RootElement.GetProperty("d_model").GetInt32()); // the checkpoint's, not tiny's 128
            Assert.Equal(2, config.RootElement.GetProperty("n_kv_head").GetInt32());
            Assert.Equal(16, config.RootElement.GetProperty("block_size").GetInt32());
        }

        var resume = CliRunner.Run("train", "--resume", run, "--init_from", hf);
        Assert.Equal(1, resume.ExitCode);
        Assert.Contains("init_from (command line --init_from) starts a new run", resume.Stderr);

        var conflict = Out("conflict");
        (code, stdout, stderr) = CliRunner.Run("train", "--init_from", hf, "--data", data, "--out_dir", conflict, "--d_model", "64", "--max_iters", "2",
            "--warmup_iters", "1", "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("d_model is 64 (command line --d_model) but the checkpoint's is 32", stderr);
        Assert.False(Directory.Exists(conflict));

        var missing = CliRunner.Run("train", "--init_from", Path.Combine(fixture.Root, "nowhere"), "--data", data, "--max_iters", "2", "--warmup_iters", "1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("does not exist", missing.Stderr);
    }
}
