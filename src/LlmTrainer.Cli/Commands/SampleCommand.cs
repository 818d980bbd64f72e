using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Sampling;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain sample [--checkpoint DIR] [--prompt TEXT]... [options]</c>: continues prompts with a trained model.
/// Without --checkpoint it uses the newest run under runs/ (its best checkpoint, else its latest). Text streams to
/// standard output as it is generated; which checkpoint, warnings and a tokens/s line go to standard error.
/// Beam search (--beams N &gt; 1) is deterministic: --temperature, --top-k and --top-p are errors with it, and --seed
/// has no effect.
/// </summary>
internal static class SampleCommand
{
    public const int InterruptedExitCode = 130;

    /// <summary>JSON lines that keep non-ASCII text and quotes readable (the output is not embedded in HTML).</summary>
    private static readonly JsonSerializerOptions JsonLines = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var defaults = new SamplingOptions();
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "A checkpoint (runs/NAME/checkpoints/best) or a run directory (its best checkpoint, else latest); default: the newest run under runs/",
        };
        var prompt = new Option<string[]>("--prompt") { Description = "Text to continue; repeat for several prompts, sampled in turn (default: a new document)" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "A file whose whole text is a prompt (after any --prompt)" };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "Tokens to generate at most per sample", DefaultValueFactory = _ => defaults.MaxNewTokens };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 = greedy", DefaultValueFactory = _ => defaults.Temperature };
        var topK = new Option<int?>("--top-k") { Description = "Sample among the k most likely tokens only" };
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling: the smallest set of tokens with probability at least p, in (0, 1]" };
        var repetitionPenalty = new Option<double>("--repetition-penalty")
        {
            Description = "Penalise tokens already in the prompt or the output (CTRL); 1 = off", DefaultValueFactory = _ => defaults.RepetitionPenalty,
        };
        var beams = new Option<int>("--beams") { Description = "Beam search with this many beams (deterministic); 1 = sampling", DefaultValueFactory = _ => defaults.Beams };
        var lengthPenalty = new Option<double>("--length-penalty")
        {
            Description = "Beam search score: sum of log-probabilities / length^alpha", DefaultValueFactory = _ => defaults.LengthPenalty,
        };
        var numSamples = new Option<int>("--num-samples") { Description = "Samples per prompt, generated as one batch", DefaultValueFactory = _ => defaults.NumSamples };
        var seed = new Option<long?>("--seed") { Description = "Seed for sampling: the same seed gives the same text (default: random, printed)" };
        var stop = new Option<string[]>("--stop")
        {
            Description = @"End a sample where this string appears (repeatable; not printed); \n, \t, \r and \\ stand for newline, tab, return and backslash",
        };
        var device = new Option<string>("--device") { Description = "auto (CUDA when present), cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var noBos = new Option<bool>("--no-bos")
        {
            Description = "Encode the prompt alone, without the document-start token (<|endoftext|>, or <s> for SentencePiece) that training documents begin with",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per prompt (prompt, samples, tokens, tokens_per_sec) instead of streaming text" };

        var command = new Command("sample", "Generate text from a trained model")
        {
            checkpoint, prompt, promptFile, maxNewTokens, temperature, topK, topP, repetitionPenalty, beams, lengthPenalty, numSamples, seed,
            stop, noBos, device, json,
        };
        command.SetAction(parse =>
        {
            var options = new SamplingOptions
            {
                MaxNewTokens = parse.GetValue(maxNewTokens),
                Temperature = parse.GetValue(temperature),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                RepetitionPenalty = parse.GetValue(repetitionPenalty),
                Beams = parse.GetValue(beams),
                LengthPenalty = parse.GetValue(lengthPenalty),
                NumSamples = parse.GetValue(numSamples),
                Seed = parse.GetValue(seed),
                Stop = (parse.GetValue(stop) ?? []).Select(Unescape).ToArray(),
                PrependBos = !parse.GetValue(noBos),
            };
            options.Validate(FlagName);
            if (options.Beams > 1 && parse.GetResult(temperature) is { Implicit: false })
                throw new LlmTrainerException(
                    $"--temperature does not apply to beam search (--beams {options.Beams}), which is deterministic; drop --temperature or use --beams 1.");
            var prompts = Prompts(parse.GetValue(prompt) ?? [], parse.GetValue(promptFile));
            return Run(parse.GetValue(checkpoint), prompts, options, parse.GetValue(device) ?? "auto", parse.GetValue(json), Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>A stop string as typed: \n, \t, \r and \\ become newline, tab, return and backslash; other text stays.</summary>
    internal static string Unescape(string text)
    {
        if (!text.Contains('\\')) return text;
        var b = new System.Text.StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] is 'n' or 't' or 'r' or '\\')
            {
                b.Append(text[++i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => '\\' });
                continue;
            }
            b.Append(c);
        }
        return b.ToString();
    }

    /// <summary>How the CLI spells a sampling option: top_p → --top-p.</summary>
    private static string FlagName(string key) => "--" + key.Replace('_', '-');

    private static List<string> Prompts(string[] prompts, string? file)
    {
        var all = new List<string>(prompts);
        if (file is not null)
        {
            if (!File.Exists(file))
                throw new LlmTrainerException($"--prompt-file: '{file}' does not exist.");
            var text = File.ReadAllText(file);
            if (text.Trim().Length == 0)
                throw new LlmTrainerException($"--prompt-file: '{file}' is empty; put the prompt text in it, or use --prompt TEXT.");
            // An editor's final newline is not part of the prompt.
            all.Add(text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text);
        }
        if (all.Count == 0) all.Add("");
        return all;
    }

    public static int Run(string? checkpoint, IReadOnlyList<string> prompts, SamplingOptions options, string device, bool json, TextWriter stdout, TextWriter stderr)
    {
        var (path, description) = TrainedModel.Locate(checkpoint);
        stderr.WriteLine(description);
        using var trained = TrainedModel.Load(path, device);
        using var progress = new ConsoleProgress(stderr); // plain lines: a live display would mix with the streamed text
        var generator = new TextGenerator(trained, progress);
        bool streaming = !json && options.NumSamples == 1 && options.Beams == 1;

        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (stop.IsCancellationRequested) return; // a second Ctrl+C kills the process
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            for (int i = 0; i < prompts.Count && !stop.IsCancellationRequested; i++)
            {
                var prompt = prompts[i];
                if (!json && i > 0) stdout.WriteLine();
                if (streaming)
                {
                    stdout.Write(prompt);
                    stdout.Flush();
                }
                var result = generator.Generate(prompt, options, streaming ? (_, text) => { stdout.Write(text); stdout.Flush(); } : null, stop.Token);
                if (json)
                {
                    stdout.WriteLine(JsonSerializer.Serialize(new
                    {
                        prompt,
                        samples = result.Samples.Select(s => s.Text).ToArray(),
                        tokens = result.GeneratedTokens,
                        tokens_per_sec = Math.Round(result.TokensPerSecond, 1),
                        stop_reasons = result.Samples.Select(s => ReasonName(s.StopReason)).ToArray(),
                        prompt_tokens = result.PromptTokens,
                        prompt_truncated = result.PromptTruncated,
                        seed = options.Beams > 1 ? (long?)null : result.Seed,
                    }, JsonLines));
                }
                else if (streaming)
                    stdout.WriteLine();
                else if (result.Samples.Count == 1)
                    stdout.WriteLine(prompt + result.Samples[0].Text);
                else
                    for (int s = 0; s < result.Samples.Count; s++)
                    {
                        stdout.WriteLine($"--- sample {s + 1} ---");
                        stdout.WriteLine(prompt + result.Samples[s].Text);
                    }
                stdout.Flush();
                stderr.WriteLine(Stats(result, options));
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        return stop.IsCancellationRequested ? InterruptedExitCode : 0;
    }

    private static string Stats(GenerationResult r, SamplingOptions options)
    {
        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{r.GeneratedTokens} tokens in {r.Elapsed.TotalSeconds:F2} s, {r.TokensPerSecond:F1} tokens/s"),
        };
        if (options.Beams == 1 && options.Temperature > 0) parts.Add($"seed {r.Seed}");
        if (r.WindowSlides > 0) parts.Add($"context full {r.WindowSlides} time(s): continued from the last tokens");
        return "[" + string.Join("; ", parts) + "]";
    }

    private static string ReasonName(StopReason reason) => reason switch
    {
        StopReason.EndOfText => "end_of_text",
        StopReason.StopString => "stop_string",
        StopReason.MaxNewTokens => "max_new_tokens",
        _ => "cancelled",
    };
}
