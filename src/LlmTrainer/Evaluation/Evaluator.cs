using System.Collections.Concurrent;
using System.Diagnostics;
using LlmTrainer.Checkpoints;
using LlmTrainer.Model;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Evaluation;

/// <summary>
/// Measures a model on a token stream: one deterministic pass over non-overlapping windows of block_size
/// predictions (<see cref="EvalWindows"/>), in batches under inference mode (bf16 autocast where the model's device
/// has it), each batch in its own dispose scope. Returns the mean loss, perplexity and bits per byte (and, for a mixture
/// of experts, the expert load; its router losses are no part of the loss), and compares
/// the model as a compressor with gzip and Brotli over the same bytes (compressed on a background thread while the
/// model runs).
/// </summary>
public static class Evaluator
{
    private const string ProgressTask = "eval";

    public static EvalResult Evaluate(TrainedModel trained, EvalInput input, EvalOptions? options = null, IProgressReporter? progress = null,
        CancellationToken cancellationToken = default) =>
        Evaluate(trained.Model, trained.Tokenizer, input, trained.Device, trained.AutocastDtype, options, progress, cancellationToken);

    /// <param name="model">Evaluated in eval mode on <paramref name="device"/>, where it must already be.</param>
    /// <param name="tokenizer">Decodes the predicted tokens to the bytes that bits per byte and the compressors count.</param>
    /// <param name="autocastDtype">Run forward passes under autocast to this type (bf16 on CUDA); null for full precision.</param>
    public static EvalResult Evaluate(Llama model, Tokenizer tokenizer, EvalInput input, Device device, ScalarType? autocastDtype = null,
        EvalOptions? options = null, IProgressReporter? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new EvalOptions();
        progress ??= NullProgress.Instance;
        if (options.BatchSize < 1)
            throw new LlmTrainerException($"batch size {options.BatchSize} must be at least 1.");
        if (options.MaxTokens is < 1)
            throw new LlmTrainerException($"max tokens {options.MaxTokens} must be at least 1 (leave it out to evaluate everything).");

        int blockSize = model.Config.BlockSize;
        var plans = new List<(TokenStream Stream, EvalWindows Windows)>();
        long remaining = options.MaxTokens ?? long.MaxValue;
        foreach (var stream in input.Streams)
        {
            var windows = new EvalWindows(stream.Length, blockSize, remaining);
            plans.Add((stream, windows));
            remaining -= windows.Targets;
        }
        long targets = plans.Sum(p => p.Windows.Targets);
        long totalWindows = plans.Sum(p => p.Windows.Count);
        if (targets == 0)
            throw new LlmTrainerException(
                $"{input.Description} has {input.Tokens} token(s); evaluation needs at least 2 (one to predict from and one to predict).");

        var clock = Stopwatch.StartNew();
        using var gzip = CompressionMeter.Gzip();
        using var brotli = CompressionMeter.Brotli();
        // The compressors run beside the model; a bounded queue keeps at most a few batches of text in memory.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var pending = new BlockingCollection<byte[]>(boundedCapacity: 64);
        Exception? compressorFailure = null;
        var compressing = Task.Factory.StartNew(() =>
        {
            try
            {
                foreach (var chunk in pending.GetConsumingEnumerable(stop.Token))
                {
                    gzip.Write(chunk);
                    brotli.Write(chunk);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                compressorFailure = e;
                stop.Cancel();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        double lossSum = 0;
        long bytes = 0, tokensDone = 0, windowsDone = 0;
        var loadBefore = model.expert_load();
        try
        {
            model.eval();
            using var inference = torch.inference_mode();
            var window = new int[blockSize + 1];
            foreach (var (stream, windows) in plans)
            {
                for (long w = 0; w < windows.Count;)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // Full windows go together; only the last window of a stream can be shorter.
                    int length = windows[w].Length;
                    int batch = 1;
                    while (batch < options.BatchSize && w + batch < windows.Count && windows[w + batch].Length == length)
                        batch++;

                    var x = new long[batch * length];
                    var y = new long[batch * length];
                    var text = new MemoryStream();
                    for (int i = 0; i < batch; i++)
                    {
                        var tokens = window.AsSpan(0, length + 1);
                        stream.CopyTo(windows[w + i].Start, tokens);
                        for (int j = 0; j < length; j++)
                        {
                            x[i * length + j] = tokens[j];
                            y[i * length + j] = tokens[j + 1];
                        }
                        // The predicted tokens continue tokens[0] (SentencePiece keeps their leading space unless tokens[0] starts a document).
                        text.Write(tokenizer.DecodeBytes(tokens[1..], previous: tokens[0]));
                    }
                    var decoded = text.ToArray();
                    bytes += decoded.Length;
                    pending.Add(decoded, stop.Token);

                    lossSum += BatchLossSum(model, x, y, batch, length, device, autocastDtype);
                    w += batch;
                    windowsDone += batch;
                    tokensDone += (long)batch * length;
                    progress.Report(new ProgressUpdate(ProgressTask, windowsDone, totalWindows, "windows", $"loss {lossSum / tokensDone:F4}"));
                }
            }
        }
        catch (OperationCanceledException) when (compressorFailure is not null)
        {
            throw new InvalidOperationException("compressing the evaluated text failed", compressorFailure);
        }
        finally
        {
            // On an error, stop the compressors rather than let them finish the queue.
            if (windowsDone < totalWindows)
                stop.Cancel();
            pending.CompleteAdding();
            compressing.Wait(CancellationToken.None);
        }
        if (compressorFailure is not null)
            throw new InvalidOperationException("compressing the evaluated text failed", compressorFailure);

        var result = new EvalResult(input.Description, tokensDone, windowsDone, blockSize, lossSum / tokensDone, bytes,
            gzip.Finish(), brotli.Finish(), clock.Elapsed) { ExpertLoad = model.expert_load()?.Since(loadBefore!) };
        return result;
    }

    /// <summary>Summed cross entropy (nats) of one batch of windows, computed in float32 whatever the autocast type.</summary>
    private static double BatchLossSum(Llama model, long[] x, long[] y, int batch, int length, Device device, ScalarType? autocastDtype)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(x, [batch, length]);
        var target = torch.tensor(y, [batch * length]);
        if (device.IsCuda)
        {
            input = input.to(device, non_blocking: true);
            target = target.to(device, non_blocking: true);
        }
        Tensor logits;
        using (autocastDtype is { } dt ? torch.autocast(device.Type, dt) : null)
            logits = model.forward(input);
        var flat = logits.view(-1, model.Config.VocabSize).to(ScalarType.Float32);
        return F.cross_entropy(flat, target, reduction: nn.Reduction.Sum).item<double>();
    }
}
