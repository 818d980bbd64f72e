using System.CommandLine;
using System.Text.Json;
using LlmTrainer.Benchmarks;
using LlmTrainer.Config;
using LlmTrainer.Torch;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain bench …</c>: measurements to compare against PyTorch (see benchmarks/).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks (compare with the scripts in benchmarks/)");
        var iterations = new Option<long>("--iterations") { Description = "Loop length", DefaultValueFactory = _ => 100_000 };
        var json = new Option<bool>("--json") { Description = "Print results as JSON lines" };
        var ops = new Command("ops", "Per-op overhead of the libtorch binding (tiny tensors, one thread)") { iterations, json };
        ops.SetAction(parse =>
        {
            foreach (var r in OpOverheadBenchmark.Run(parse.GetValue(iterations)))
            {
                if (parse.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { name = r.Name, ns_per_op = Math.Round(r.NanosecondsPerOp, 1), native_ns_per_op = Math.Round(r.NativeNanosecondsPerOp, 1) }));
                else
                    Console.WriteLine($"{r.Name,-36} {r.NanosecondsPerOp,8:F0} ns/op  (C++ alone {r.NativeNanosecondsPerOp:F0} ns, binding adds {r.OverheadNanoseconds:F0} ns)");
            }
            return 0;
        });
        bench.Subcommands.Add(ops);
        bench.Subcommands.Add(TrainBench());
        bench.Subcommands.Add(SampleBench());
        bench.Subcommands.Add(KernelBench());
        return bench;
    }

    /// <summary>Vocabulary of a benchmark model when the config leaves it to the tokenizer (vocab_size 0).</summary>
    public const int SampleBenchVocab = 2048;

    /// <summary><c>llmtrain bench sample --config NAME [--batch N] [--tokens N] [--key value…]</c>: decoding tokens/s with and without the KV cache.</summary>
    private static Command SampleBench()
    {
        var config = new Option<string?>("--config") { Description = "Config file or built-in name (default tiny)" };
        var batch = new Option<int>("--batch") { Description = "Sequences decoded together", DefaultValueFactory = _ => 1 };
        var tokens = new Option<int>("--tokens") { Description = "New tokens per sequence", DefaultValueFactory = _ => 256 };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Length of the random prompt", DefaultValueFactory = _ => 8 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs of each way, alternating; the best counts", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("sample", "Decoding throughput of a random-weight model with and without the KV cache (no data needed)")
        {
            config, batch, tokens, promptTokens, repeats, json,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            if (parse.GetValue(batch) < 1) throw new LlmTrainerException($"--batch must be at least 1; got {parse.GetValue(batch)}.");
            if (parse.GetValue(tokens) < 1) throw new LlmTrainerException($"--tokens must be at least 1; got {parse.GetValue(tokens)}.");
            if (parse.GetValue(promptTokens) < 1) throw new LlmTrainerException($"--prompt-tokens must be at least 1; got {parse.GetValue(promptTokens)}.");
            if (parse.GetValue(repeats) < 1) throw new LlmTrainerException($"--repeats must be at least 1; got {parse.GetValue(repeats)}.");
            var loaded = ConfigLoader.Load(parse.UnmatchedTokens, new ConfigLoadOptions { Config = parse.GetValue(config), CheckDataPaths = false });
            var cfg = loaded.Config.Resolve(RuntimeCapabilities.Detect(), loaded.Config.VocabSize > 0 ? loaded.Config.VocabSize : SampleBenchVocab);
            var r = SampleBenchmark.Run(cfg, parse.GetValue(batch), parse.GetValue(tokens), parse.GetValue(promptTokens), parse.GetValue(repeats));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    config = r.Config, parameters = r.Parameters, active_parameters = r.ActiveParameters, vocab_size = cfg.VocabSize,
                    block_size = cfg.BlockSize, device = cfg.Device,
                    dtype = cfg.Dtype, threads = torch.get_num_threads(), batch = r.Batch, prompt_tokens = r.PromptTokens, new_tokens = r.NewTokens,
                    cached_tokens_per_sec = Math.Round(r.CachedTokensPerSecond, 1), uncached_tokens_per_sec = Math.Round(r.UncachedTokensPerSecond, 1),
                    speedup = Math.Round(r.Speedup, 2), window_slides = r.WindowSlides,
                }));
            else
                Console.WriteLine($"{r.Config}: {ParameterText.Format(r.Parameters, r.ActiveParameters)} on {cfg.Device} ({cfg.Dtype}, {torch.get_num_threads()} threads), " +
                                  $"batch {r.Batch}, {r.NewTokens} new tokens, context {cfg.BlockSize}: " +
                                  $"KV cache {r.CachedTokensPerSecond:N0} tokens/s, without {r.UncachedTokensPerSecond:N0} tokens/s, {r.Speedup:F1}x" +
                                  (r.WindowSlides > 0 ? $" (the cached run slid its window {r.WindowSlides} times)" : ""));
            return 0;
        });
        return command;
    }

    /// <summary><c>llmtrain bench train --config NAME [--key value…]</c>: ms/step and tokens/s of training steps on random tokens.</summary>
    private static Command TrainBench()
    {
        var config = new Option<string?>("--config") { Description = "Config file or built-in name (default tiny)" };
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON" };
        var command = new Command("train", "Training-step throughput on random tokens (no data needed)") { config, steps, warmup, json };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var loaded = ConfigLoader.Load(parse.UnmatchedTokens, new ConfigLoadOptions { Config = parse.GetValue(config), CheckDataPaths = false });
            var caps = RuntimeCapabilities.Detect();
            // Random tokens need no tokenizer: the config's vocab_size, or the built-in stories' when it is left to the tokenizer.
            var cfg = loaded.Config.Resolve(caps, loaded.Config.VocabSize > 0 ? loaded.Config.VocabSize : Data.BuiltinData.VocabSize);
            var r = TrainStepBenchmark.Run(cfg, parse.GetValue(warmup), parse.GetValue(steps));
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    config = r.Config, parameters = r.Parameters, active_parameters = r.ActiveParameters, vocab_size = cfg.VocabSize,
                    device = cfg.Device, dtype = cfg.Dtype,
                    threads = torch.get_num_threads(), ms_per_step = Math.Round(r.MillisecondsPerStep, 2),
                    tokens_per_sec = Math.Round(r.TokensPerSecond, 1), tflops = r.TflopsPerSecond,
                    mfu = r.Mfu is { } mfu ? Math.Round(mfu, 4) : (double?)null, gpu = r.Gpu, peak_memory_mb = r.PeakMemoryMb,
                    resolved = JsonDocument.Parse(ConfigJson.Render(cfg)).RootElement,
                }));
            else
                Console.WriteLine($"{r.Config}: {ParameterText.Format(r.Parameters, r.ActiveParameters)} on {cfg.Device} ({cfg.Dtype}, {torch.get_num_threads()} threads): " +
                                  $"{r.MillisecondsPerStep:F1} ms/step, {r.TokensPerSecond:N0} tokens/s, {r.TflopsPerSecond:F3} TFLOP/s" +
                                  (r.Mfu is { } mfu ? $", MFU {mfu * 100:F1}% of {r.Gpu}" : "") +
                                  (r.PeakMemoryMb is { } m ? $", peak memory {m:N0} MiB" : ""));
            return 0;
        });
        return command;
    }

    /// <summary><c>llmtrain bench kernels --config NAME [--rounds N] [--key value…]</c>: llmtrain's fused ops against libtorch's, at a config's shapes.</summary>
    private static Command KernelBench()
    {
        var config = new Option<string?>("--config") { Description = "Config file or built-in name whose shapes to use (default 15m)" };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds; the fastest of each path counts", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print results as JSON lines" };
        var command = new Command("kernels", "Attention, RMSNorm, rotary, SwiGLU, cross-entropy and AdamW: llmtrain's path against libtorch's") { config, rounds, json };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            if (parse.GetValue(rounds) < 1) throw new LlmTrainerException($"--rounds must be at least 1; got {parse.GetValue(rounds)}.");
            var loaded = ConfigLoader.Load(parse.UnmatchedTokens, new ConfigLoadOptions { Config = parse.GetValue(config) ?? "15m", CheckDataPaths = false });
            var cfg = loaded.Config.Resolve(RuntimeCapabilities.Detect(), loaded.Config.VocabSize > 0 ? loaded.Config.VocabSize : Data.BuiltinData.VocabSize);
            var torchVersion = JsonDocument.Parse(torch.build_info()).RootElement.GetProperty("torch_version").GetString();
            if (!parse.GetValue(json))
                Console.WriteLine($"{cfg.Name} shapes (batch {cfg.BatchSize} × {cfg.BlockSize}, d_model {cfg.DModel}) on {cfg.Device}, libtorch {torchVersion}, " +
                                  $"{torch.get_num_threads()} threads; ratio = libtorch ÷ llmtrain (above 1: llmtrain's path is faster)");
            foreach (var r in KernelBenchmark.Run(cfg, parse.GetValue(rounds)))
            {
                if (parse.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        op = r.Op, pass = r.Pass, llmtrain_ms = Math.Round(r.Llmtrain, 3), libtorch_ms = Math.Round(r.Libtorch, 3),
                        ratio = Math.Round(r.Ratio, 2), torch_version = torchVersion, device = cfg.Device,
                    }));
                else
                    Console.WriteLine($"  {r.Op,-26} {r.Pass,-17} llmtrain {r.Llmtrain,9:F3} ms   libtorch {r.Libtorch,9:F3} ms   ×{r.Ratio:F2}");
            }
            return 0;
        });
        return command;
    }
}
