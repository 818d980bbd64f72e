using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

/// <summary>A small mixture-of-experts run trained once: synthetic stories, a 300-token tokenizer, a few steps.</summary>
public sealed class MoeRunFixture : IDisposable
{
    public MoeRunFixture()
    {
        Root = Directory.CreateTempSubdirectory("llmtrain-cli-moe-").FullName;
        var text = Path.Combine(Root, "stories.txt");
        new SyntheticStories(7).WriteText(text, 300);
        Data = Path.Combine(Root, "data");
        new PrepareJob(new PrepareOptions([text], Data, VocabSize: 300, ValFraction: 0.1)).Run();
        Run = Path.Combine(Root, "runs", "moe");
        (ExitCode, Stdout, Stderr) = CliRunner.Run(
            "train", "--data", Data, "--out_dir", Run, "--max_iters", "4", "--batch_size", "4", "--block_size", "32",
            "--d_model", "32", "--n_layer", "2", "--n_head", "4", "--ffn_hidden", "48", "--n_experts", "4", "--experts_per_token", "2",
            "--warmup_iters", "2", "--eval_interval", "1000", "--eval_iters", "1", "--log_interval", "1");
        if (ExitCode != 0)
            throw new InvalidOperationException($"training the fixture run failed:\n{Stdout}\n{Stderr}");
    }

    public string Root { get; }

    public string Data { get; }

    public string Run { get; }

    public int ExitCode { get; }

    public string Stdout { get; }

    public string Stderr { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Everything around a mixture of experts works from the command line: train, eval, sample (cache and beams), bench.</summary>
public sealed class MoeCommandTests(MoeRunFixture f) : IClassFixture<MoeRunFixture>
{
    [Fact]
    public void Train_prints_total_and_active_parameters_and_the_router_losses()
    {
        // Embedding 300·32, per layer attention 4·32², norms 2·32, router 32·4 and 4 experts of 3·32·48; final norm 32.
        long expert = 3 * 32 * 48, layer = 4 * 32 * 32 + 2 * 32 + 32 * 4;
        long total = 300 * 32 + 2 * (layer + 4 * expert) + 32, active = 300 * 32 + 2 * (layer + 2 * expert) + 32;
        Assert.Contains($"model       {total:N0} parameters ({active:N0} active): d_model 32, 2 layers, 4 heads (4 kv), ffn 48, 4 experts (top 2)", f.Stdout);
        Assert.Matches(@"step 4/4 \| loss \d+\.\d+ \| aux \d+\.\d+ \| z \d+\.\d+ \|", f.Stdout);
        Assert.Matches(@"val loss \d+\.\d+, expert balance \d+\.\d+ \(max/mean load\)", f.Stdout);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(f.Run, "config.json"))).RootElement;
        Assert.Equal(0.01, config.GetProperty("moe_aux_loss_coef").GetDouble());
    }

    [Fact]
    public void Eval_json_reports_the_expert_load_per_layer_and_the_balance()
    {
        var (code, stdout, stderr) = CliRunner.Run("eval", "--checkpoint", f.Run, "--split", "val", "--json", "--max-tokens", "200");
        Assert.True(code == 0, stderr);
        Assert.Contains("parameters (", stderr); // total and active
        var r = JsonDocument.Parse(stdout).RootElement;
        var load = r.GetProperty("expert_load").EnumerateArray().Select(l => l.EnumerateArray().Select(s => s.GetDouble()).ToArray()).ToArray();
        Assert.Equal(2, load.Length);
        Assert.All(load, layer => Assert.Equal(4, layer.Length));
        Assert.All(load, layer => Assert.Equal(1.0, layer.Sum(), 4));
        var balance = r.GetProperty("expert_balance").GetDouble();
        Assert.InRange(balance, 1.0, 2.0); // at most n_experts / experts_per_token
        Assert.Equal(load.Max(l => l.Max() / l.Average()), balance, 4);

        var text = CliRunner.Run("eval", "--checkpoint", f.Run, "--split", "val", "--max-tokens", "200");
        Assert.Contains("expert load", text.Stdout);
    }

    [Fact]
    public void Sampling_with_the_kv_cache_and_with_beams_works()
    {
        var greedy = CliRunner.Run("sample", "--checkpoint", f.Run, "--prompt", "Once upon", "--max-new-tokens", "6", "--temperature", "0", "--json");
        Assert.True(greedy.ExitCode == 0, greedy.Stderr);
        var beams = CliRunner.Run("sample", "--checkpoint", f.Run, "--prompt", "Once", "--beams", "2", "--num-samples", "2", "--max-new-tokens", "4");
        Assert.True(beams.ExitCode == 0, beams.Stderr);
        Assert.Contains("--- sample 2 ---", beams.Stdout);
    }

    [Fact]
    public void Bench_train_and_bench_sample_run_moe_tiny()
    {
        string[] small = ["--device", "cpu", "--block_size", "16", "--batch_size", "2", "--d_model", "32", "--n_layer", "1", "--ffn_hidden", "24"];
        var (code, stdout, stderr) = CliRunner.Run(["bench", "train", "--config", "moe-tiny", "--steps", "2", "--warmup", "1", "--json", .. small]);
        Assert.True(code == 0, stdout + stderr);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.True(r.GetProperty("active_parameters").GetInt64() < r.GetProperty("parameters").GetInt64());
        Assert.True(r.GetProperty("ms_per_step").GetDouble() > 0);
        var sample = CliRunner.Run(["bench", "sample", "--config", "moe-tiny", "--tokens", "6", "--batch", "2", .. small]);
        Assert.True(sample.ExitCode == 0, sample.Stdout + sample.Stderr);
        Assert.Contains("active)", sample.Stdout);
    }
}
