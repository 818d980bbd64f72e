using System.Text.Json;

namespace LlmTrainer.Cli.Tests;

public sealed class BenchTrainCommandTests
{
    [Fact]
    public void Bench_train_reports_throughput_and_model_flops_and_no_mfu_on_the_cpu()
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "train", "--config", "tiny", "--device", "cpu", "--steps", "2", "--warmup", "1",
                                                   "--batch_size", "2", "--block_size", "16", "--d_model", "32", "--n_layer", "1", "--ffn_hidden", "96", "--json");
        Assert.True(code == 0, stdout + stderr);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("cpu", r.GetProperty("device").GetString());
        double tokensPerSec = r.GetProperty("tokens_per_sec").GetDouble();
        Assert.True(tokensPerSec > 0);
        // TFLOP/s is tokens/s times the trainer's FLOPs per token: 6 per weight (the tied LM head's too, norms included)
        // plus 12·layers·d_model·context for attention.
        long weights = 2048 * 32 + (4 * 32 * 32 + 3 * 32 * 96 + 2 * 32) + 32;
        double flopsPerToken = 6.0 * weights + 12.0 * 1 * 32 * 16;
        Assert.InRange(r.GetProperty("tflops").GetDouble() / (tokensPerSec * flopsPerToken / 1e12), 0.99, 1.01);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("mfu").ValueKind);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("gpu").ValueKind);
        Assert.True(r.GetProperty("peak_memory_mb").GetDouble() > 0); // the CPU allocator's count

        var text = CliRunner.Run("bench", "train", "--config", "tiny", "--device", "cpu", "--steps", "1", "--warmup", "0",
                                 "--batch_size", "2", "--block_size", "16", "--d_model", "32", "--n_layer", "1");
        Assert.True(text.ExitCode == 0, text.Stdout + text.Stderr);
        Assert.Matches(@"tokens/s, \d+\.\d{3} TFLOP/s", text.Stdout);
        Assert.DoesNotContain("MFU", text.Stdout);
    }
}
