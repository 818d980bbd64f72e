using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmTrainer.Checkpoints;
using LlmTrainer.Evaluation;
using LlmTrainer.Torch;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain eval [--split val|train | --text FILE] [--checkpoint DIR] [--max-tokens N] [--batch-size N] [--device D] [--json]</c>:
/// loss, perplexity and bits per byte of a trained model, and the model as a compressor beside gzip and Brotli.
/// Which checkpoint is used and the progress go to standard error; the results to standard output.
/// </summary>
internal static class EvalCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A diverged model has an infinite perplexity; say so rather than fail to print it.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static Command Create()
    {
        var split = new Option<string>("--split") { Description = "Which split of the run's prepared data to evaluate", DefaultValueFactory = _ => "val" };
        split.AcceptOnlyFromAmong("val", "train");
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "A run directory (its best checkpoint, else latest) or a checkpoint directory; default: the newest run under runs/",
        };
        var text = new Option<string?>("--text") { Description = "Evaluate this UTF-8 text file instead (documents separated by <|endoftext|> lines)" };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "Predict at most this many tokens (default: all)" };
        var batchSize = new Option<int>("--batch-size") { Description = "Windows of block_size tokens per forward pass", DefaultValueFactory = _ => EvalOptions.DefaultBatchSize };
        var device = new Option<string>("--device") { Description = "auto (CUDA when present), cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object" };
        var command = new Command("eval", "Loss, perplexity and bits per byte of a trained model on its val (or train) data or a text file, compared with gzip and Brotli")
        {
            split, checkpoint, text, maxTokens, batchSize, device, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                if (parse.GetResult(split) is { Implicit: false } && parse.GetValue(text) is not null)
                    throw new LlmTrainerException("give either --split (the run's prepared data) or --text FILE, not both.");
                var request = new Request(
                    parse.GetValue(split)!, parse.GetValue(checkpoint), parse.GetValue(text), parse.GetValue(maxTokens),
                    parse.GetValue(batchSize), parse.GetValue(device)!, parse.GetValue(json));
                return Task.FromResult(Run(request, stdout, stderr, cancellationToken));
            }
            catch (LlmTrainerException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return Task.FromResult(1);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stderr.WriteLine("eval cancelled.");
                return Task.FromResult(TrainCommand.InterruptedExitCode);
            }
        });
        return command;
    }

    private sealed record Request(string Split, string? Checkpoint, string? Text, long? MaxTokens, int BatchSize, string Device, bool Json);

    private static int Run(Request r, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (r.BatchSize < 1)
            throw new LlmTrainerException($"--batch-size {r.BatchSize} must be at least 1 (default {EvalOptions.DefaultBatchSize}).");
        if (r.MaxTokens is < 1)
            throw new LlmTrainerException($"--max-tokens {r.MaxTokens} must be at least 1; leave it out to evaluate everything.");

        var (path, description) = TrainedModel.Locate(r.Checkpoint);
        stderr.WriteLine(description);
        using var trained = TrainedModel.Load(path, r.Device);
        if (trained.ImportedFormat is { } format && r.Text is null)
            throw new LlmTrainerException($"{trained.CheckpointPath} is a {format} checkpoint, without prepared data of its own; evaluate it on a text file with --text FILE.");
        stderr.WriteLine($"model: {ParameterText.Format(trained.Model.num_parameters(), trained.Model.Config.ActiveParameters)}, step {trained.State.Step}, on {trained.Device}" +
                         (trained.AutocastDtype is { } dt ? $" ({dt.Name()} autocast)" : ""));
        EvalResult result;
        // The progress display (a bar on a terminal) ends before the results are printed.
        using (var progress = ConsoleProgress.Create(stderr))
        {
            using var input = r.Text is not null
                ? EvalInput.Text(r.Text, trained.Tokenizer, r.MaxTokens)
                : EvalInput.Split(trained.Config.Stages.IsEmpty ? trained.Config.Data : trained.Config.Stages.AllData(), r.Split, trained.Tokenizer, progress);
            result = Evaluator.Evaluate(trained, input, new EvalOptions(r.BatchSize, r.MaxTokens), progress, cancellationToken);
        }

        if (r.Json)
            stdout.WriteLine(JsonSerializer.Serialize(ToJson(result, trained, r), Json));
        else
            Print(stdout, result, trained);
        return 0;
    }

    private static object ToJson(EvalResult e, TrainedModel trained, Request r)
    {
        object Compressor(CompressorResult c) => new
        {
            name = c.Name, compressed_bytes = Math.Round(c.CompressedBytes, 1), bits_per_byte = c.BitsPerByte, ratio = c.Ratio,
        };
        return new
        {
            checkpoint = trained.CheckpointPath,
            step = trained.State.Step,
            source = e.Source,
            split = r.Text is null ? r.Split : null,
            text = r.Text is null ? null : Path.GetFullPath(r.Text),
            device = trained.Device.ToString(),
            tokens = e.Tokens,
            windows = e.Windows,
            block_size = e.BlockSize,
            loss = e.Loss,
            perplexity = e.Perplexity,
            bits_per_byte = e.BitsPerByte,
            bytes = e.Bytes,
            bytes_per_token = e.BytesPerToken,
            elapsed_s = Math.Round(e.Elapsed.TotalSeconds, 3),
            tokens_per_s = Math.Round(e.TokensPerSecond, 1),
            compressors = new { model = Compressor(e.Model), gzip = Compressor(e.Gzip), brotli = Compressor(e.Brotli) },
            expert_load = e.ExpertLoad?.Shares.Select(layer => layer.Select(share => Math.Round(share, 6))),
            expert_balance = e.ExpertLoad?.Balance,
        };
    }

    private static void Print(TextWriter o, EvalResult e, TrainedModel trained)
    {
        var c = CultureInfo.InvariantCulture;
        o.WriteLine($"checkpoint  {trained.CheckpointPath} (step {trained.State.Step})");
        o.WriteLine($"data        {e.Source}");
        o.WriteLine();
        Table(o, null,
        [
            ["tokens", e.Tokens.ToString("N0", c), $"in {e.Windows:N0} window(s) of up to {e.BlockSize}"],
            ["loss", e.Loss.ToString("F4", c), "nats/token"],
            ["perplexity", e.Perplexity.ToString("F3", c), ""],
            ["bits/byte", e.BitsPerByte.ToString("F4", c), $"{e.Bytes:N0} bytes, {e.BytesPerToken:F2} bytes/token"],
            ["throughput", e.TokensPerSecond.ToString("N0", c), $"tokens/s ({e.Elapsed.TotalSeconds:F1} s on {trained.Device})"],
            .. e.ExpertLoad?.Balance is { } balance
                ? [["expert load", balance.ToString("F2", c), $"busiest expert ÷ mean, worst of {e.ExpertLoad.Routed.Length} layers (1 is even)"]]
                : Array.Empty<string[]>(),
        ]);
        o.WriteLine();
        Table(o, ["compressor", "bytes", "bits/byte", "of original"],
            e.Compressors.Select(x => new[]
            {
                x.Name, x.CompressedBytes.ToString("N0", c), x.BitsPerByte.ToString("F4", c), (100 * x.Ratio).ToString("F1", c) + "%",
            })
            .Append(["original", e.Bytes.ToString("N0", c), "8.0000", "100.0%"]).ToList());
    }

    /// <summary>
    /// Columns padded to their widest cell: the first left-aligned, the others right-aligned; without a header the
    /// last column is a free-text note, left as is.
    /// </summary>
    private static void Table(TextWriter o, string[]? header, IReadOnlyList<string[]> rows)
    {
        var all = (header is null ? rows : rows.Prepend(header)).ToList();
        int columns = all[0].Length;
        var widths = Enumerable.Range(0, columns).Select(i => all.Max(row => row[i].Length)).ToArray();
        foreach (var row in all)
        {
            var cells = row.Select((cell, i) =>
                i == 0 ? cell.PadRight(widths[i]) : header is null && i == columns - 1 ? cell : cell.PadLeft(widths[i]));
            o.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }
}
