using System.Text.Json;

namespace LlmTrainer.Cli.Tests;

public sealed class BenchSampleCommandTests
{
    [Fact]
    public void Bench_sample_reports_tokens_per_second_with_and_without_the_cache()
    {
        var (code, stdout, stderr) = CliRunner.Run("bench", "sample", "--config", "tiny", "--device", "cpu", "--batch", "2", "--tokens", "12",
                                                   "--block_size", "8", "--d_model", "32", "--n_layer", "1", "--json");
        Assert.True(code == 0, stdout + stderr);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(2048, r.GetProperty("vocab_size").GetInt32()); // tiny leaves the vocabulary to the tokenizer
        Assert.Equal(2, r.GetProperty("batch").GetInt32());
        Assert.True(r.GetProperty("cached_tokens_per_sec").GetDouble() > 0);
        Assert.True(r.GetProperty("uncached_tokens_per_sec").GetDouble() > 0);
        Assert.True(r.GetProperty("window_slides").GetInt32() >= 1); // 8 + 12 tokens do not fit a context of 8

        var bad = CliRunner.Run("bench", "sample", "--batch", "0");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--batch must be at least 1", bad.Stderr);
    }
}
