using System.Diagnostics;
using LlmTrainer.Config;
using LlmTrainer.Model;
using LlmTrainer.Sampling;
using LlmTrainer.Torch;

namespace LlmTrainer.Benchmarks;

/// <summary>Decoding throughput of one configuration with and without the KV cache.</summary>
/// <param name="ActiveParameters">Parameters one token passes through (fewer than <paramref name="Parameters"/> with MoE).</param>
public sealed record SampleTiming(string Config, long Parameters, long ActiveParameters, int Batch, int PromptTokens, int NewTokens,
                                  double CachedTokensPerSecond, double UncachedTokensPerSecond, int WindowSlides)
{
    /// <summary>How many times faster decoding is with the cache.</summary>
    public double Speedup => CachedTokensPerSecond / UncachedTokensPerSecond;
}

/// <summary>
/// Times greedy decoding of a random-weight model: the KV-cached path (prefill once, then one position per token,
/// sliding the window when the context is full) against recomputing the forward pass over the last block_size tokens
/// for every token (nanoGPT's loop, last position only through the LM head). Both decode the same number of tokens
/// from the same random prompt; tokens/s counts the new tokens of all rows. With several repeats the two alternate and
/// the best of each counts, which steadies the ratio on a machine shared with other work.
/// </summary>
public static class SampleBenchmark
{
    public static SampleTiming Run(TrainConfig cfg, int batch = 1, int newTokens = 256, int promptTokens = 8, int repeats = 1, int warmupTokens = 8)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repeats);
        var device = Device.Parse(cfg.Device);
        ScalarType? autocast = cfg.Dtype == "float32" ? null : ScalarTypeExtensions.Parse(cfg.Dtype);
        if (device.IsCuda) torch.backends.set_allow_tf32(true);
        torch.manual_seed(cfg.Seed);
        using var model = new Llama(cfg.ToModelConfig() with { Dropout = 0 }, device);
        model.eval();
        var rng = new Random((int)cfg.Seed);
        var prompt = Enumerable.Range(0, Math.Clamp(promptTokens, 1, cfg.BlockSize)).Select(_ => rng.Next(cfg.VocabSize)).ToArray();

        var withCache = new LlamaNextTokenModel(model, autocast, useKvCache: true);
        var without = new LlamaNextTokenModel(model, autocast, useKvCache: false);
        Decode(withCache, prompt, batch, warmupTokens, device);
        Decode(without, prompt, batch, warmupTokens, device);

        double TokensPerSecond(LlamaNextTokenModel next, out int slides)
        {
            var clock = Stopwatch.StartNew();
            slides = Decode(next, prompt, batch, newTokens, device);
            return (double)batch * newTokens / clock.Elapsed.TotalSeconds;
        }

        double cached = 0, uncached = 0;
        int windowSlides = 0;
        for (int i = 0; i < repeats; i++)
        {
            cached = Math.Max(cached, TokensPerSecond(withCache, out windowSlides));
            uncached = Math.Max(uncached, TokensPerSecond(without, out _));
        }
        return new SampleTiming(cfg.Name, model.num_parameters(), model.Config.ActiveParameters, batch, prompt.Length, newTokens, cached, uncached, windowSlides);
    }

    /// <summary>Greedy decoding of exactly <paramref name="tokens"/> new tokens per row; returns the window slides.</summary>
    private static int Decode(LlamaNextTokenModel model, int[] prompt, int rows, int tokens, Device device)
    {
        Tensor? logits = null;
        try
        {
            using (var start = torch.NewDisposeScope())
                logits = model.Start(prompt, rows).DetachFromDisposeScope();
            for (int i = 1; i <= tokens; i++)
            {
                using var scope = torch.NewDisposeScope();
                var next = logits.argmax(-1).cpu().ToArray<long>().Select(t => (int)t).ToArray();
                if (i == tokens) break;
                var nextLogits = model.Append(next).DetachFromDisposeScope();
                logits.Dispose();
                logits = nextLogits;
            }
            if (device.IsCuda) torch.cuda.synchronize();
            return model.WindowSlides;
        }
        finally
        {
            logits?.Dispose();
            model.Reset();
        }
    }
}
