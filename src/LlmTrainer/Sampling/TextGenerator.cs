using System.Diagnostics;
using System.Text;
using LlmTrainer.Checkpoints;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Sampling;

/// <summary>
/// Continues prompts: prefills the prompt, then decodes token by token (the model keeps its KV cache between steps),
/// the samples of a prompt as one batch (at most <see cref="MaxBatchRows"/> rows at a time). A sample ends at the end-of-text
/// token (<see cref="Tokenizer.EndsText"/>: end-of-sequence or document-start), a stop string or max_new_tokens.
/// Text is streamed as it is generated, whole characters only (<see cref="StreamingDecoder"/>). Every step runs in
/// its own dispose scope under inference mode. Sampling draws from a generator seeded with the options' seed, on the
/// CPU, so the same seed gives the same text on any device. One generation at a time per instance.
/// </summary>
public sealed class TextGenerator
{
    private readonly INextTokenModel model;
    private readonly Tokenizer tokenizer;
    private readonly IProgressReporter progress;

    public TextGenerator(INextTokenModel model, Tokenizer tokenizer, IProgressReporter? progress = null)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.progress = progress ?? NullProgress.Instance;
    }

    /// <summary>Samples from a loaded checkpoint, with its KV cache, under bf16 autocast where the checkpoint's device has it.</summary>
    public TextGenerator(TrainedModel trained, IProgressReporter? progress = null)
        : this(new LlamaNextTokenModel(trained.Model, trained.AutocastDtype), trained.Tokenizer, progress)
    {
    }

    /// <summary>
    /// Continues <paramref name="prompt"/>. The tokenizer's document-start token (<see cref="Tokenizer.BosId"/>) comes
    /// first, as it does in every training document, unless <see cref="SamplingOptions.PrependBos"/> is off; an empty
    /// prompt is that token alone, i.e. a new document.
    /// A prompt longer than the context loses its beginning: the result says so and a warning is reported.
    /// <paramref name="onText"/> receives (sample index, text) as text becomes final: while sampling, piece by piece;
    /// in beam search, each hypothesis' whole text when the search ends.
    /// </summary>
    public GenerationResult Generate(string prompt, SamplingOptions options, Action<int, string>? onText = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        options.Validate();
        bool bos = prompt.Length == 0 || options.PrependBos;
        int[] ids = bos ? [tokenizer.BosId, .. tokenizer.Encode(prompt)] : tokenizer.Encode(prompt);
        bool truncated = ids.Length > model.ContextLength;
        if (truncated)
        {
            progress.Warn($"the prompt has {ids.Length} tokens, more than the model's context of {model.ContextLength}; " +
                          $"using its last {model.ContextLength} tokens.");
            ids = ids[^model.ContextLength..];
        }
        long seed = options.Seed ?? Random.Shared.NextInt64(0, long.MaxValue);

        var clock = Stopwatch.StartNew();
        using var inference = torch.inference_mode();
        try
        {
            var (samples, generated) = options.Beams > 1
                ? Beams(ids, options, onText, cancellation)
                : Sample(ids, bos && !truncated, options, seed, onText, cancellation);
            return new GenerationResult(prompt, ids.Length, truncated, samples, generated, clock.Elapsed, seed, model.WindowSlides);
        }
        finally
        {
            model.Reset();
        }
    }

    /// <summary>
    /// Most samples decoded together: the KV cache and the logits grow with the rows, so a large num_samples runs as
    /// a sequence of batches of this size (one random generator throughout, so a seed still fixes every sample).
    /// </summary>
    public const int MaxBatchRows = 64;

    private (IReadOnlyList<GeneratedSample>, int) Sample(int[] prompt, bool startsWithBos, SamplingOptions options, long seed,
                                                        Action<int, string>? onText, CancellationToken cancellation)
    {
        using var generator = new Generator(seed);
        var samples = new List<GeneratedSample>(Math.Min(options.NumSamples, 1 << 16));
        int generated = 0;
        for (int first = 0; first < options.NumSamples; first += MaxBatchRows)
        {
            if (first > 0)
            {
                if (cancellation.IsCancellationRequested) break;
                model.Reset();
            }
            int rows = Math.Min(MaxBatchRows, options.NumSamples - first);
            int offset = first;
            var (batch, tokens) = SampleBatch(prompt, startsWithBos, options, rows, generator,
                onText is null ? null : (row, text) => onText(offset + row, text), cancellation);
            samples.AddRange(batch);
            generated += tokens;
        }
        return (samples, generated);
    }

    private (IReadOnlyList<GeneratedSample>, int) SampleBatch(int[] prompt, bool startsWithBos, SamplingOptions options, int rows,
                                                             Generator generator, Action<int, string>? onText, CancellationToken cancellation)
    {
        int vocab = Math.Min(tokenizer.VocabSize, model.VocabSize);
        var decoders = Enumerable.Range(0, rows).Select(_ => tokenizer.CreateStreamingDecoder(previous: prompt[^1])).ToArray();
        var filters = Enumerable.Range(0, rows).Select(_ => new StopStringFilter(options.Stop)).ToArray();
        var texts = Enumerable.Range(0, rows).Select(_ => new StringBuilder()).ToArray();
        var tokens = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var reasons = new StopReason?[rows];
        int generated = 0;

        void Emit(int row, string text)
        {
            if (text.Length == 0) return;
            texts[row].Append(text);
            onText?.Invoke(row, text);
        }

        void End(int row, StopReason reason)
        {
            reasons[row] = reason;
            if (reason == StopReason.StopString) return;
            Emit(row, filters[row].Push(decoders[row].Flush()));
            Emit(row, filters[row].Flush());
        }

        Tensor? logits = null, seen = null;
        try
        {
            using (var start = torch.NewDisposeScope())
            {
                logits = model.Start(prompt, rows).DetachFromDisposeScope();
                if (options.RepetitionPenalty != 1)
                {
                    // The document-start token before the prompt is not a repetition to avoid.
                    var prior = startsWithBos ? prompt[1..] : prompt;
                    seen = LogitsProcessors.SeenMask(rows, vocab, prior, logits.device).DetachFromDisposeScope();
                }
            }

            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                if (cancellation.IsCancellationRequested)
                {
                    for (int r = 0; r < rows; r++)
                        if (reasons[r] is null) End(r, StopReason.Cancelled);
                    break;
                }
                using var scope = torch.NewDisposeScope();
                var next = Choose(logits, seen, options, generator, vocab);
                for (int r = 0; r < rows; r++)
                {
                    if (reasons[r] is not null) continue;
                    int token = (int)next[r];
                    generated++;
                    if (tokenizer.EndsText(token))
                    {
                        End(r, StopReason.EndOfText);
                        continue;
                    }
                    tokens[r].Add(token);
                    Emit(r, filters[r].Push(decoders[r].Push(token)));
                    if (filters[r].Stopped) End(r, StopReason.StopString);
                }
                if (reasons.All(r => r is not null) || step == options.MaxNewTokens - 1) break;
                if (seen is not null) LogitsProcessors.MarkSeen(seen, next);
                var nextLogits = model.Append(next.Select(t => (int)t).ToArray()).DetachFromDisposeScope();
                logits.Dispose();
                logits = nextLogits;
            }
            for (int r = 0; r < rows; r++)
                if (reasons[r] is null) End(r, StopReason.MaxNewTokens);
        }
        finally
        {
            logits?.Dispose();
            seen?.Dispose();
        }
        var samples = Enumerable.Range(0, rows).Select(r => new GeneratedSample(texts[r].ToString(), tokens[r], reasons[r]!.Value)).ToList();
        return (samples, generated);
    }

    /// <summary>The next token of every row: greedy at temperature 0, otherwise drawn from the processed distribution.</summary>
    private static long[] Choose(Tensor logits, Tensor? seen, SamplingOptions options, Generator generator, int vocab)
    {
        var l = logits.size(1) > vocab ? logits.narrow(1, 0, vocab) : logits;
        if (seen is not null) l = LogitsProcessors.RepetitionPenalty(l, seen, options.RepetitionPenalty);
        if (options.Temperature == 0) return LogitsProcessors.Greedy(l).cpu().ToArray<long>();
        l = LogitsProcessors.Temperature(l, options.Temperature);
        if (options.TopK is { } k) l = LogitsProcessors.TopK(l, k);
        if (options.TopP is { } p) l = LogitsProcessors.TopP(l, p);
        var probs = l.softmax(-1).cpu();
        return torch.multinomial(probs, 1, generator: generator).ToArray<long>();
    }

    private (IReadOnlyList<GeneratedSample>, int) Beams(int[] prompt, SamplingOptions options, Action<int, string>? onText, CancellationToken cancellation)
    {
        // A document-start token ends a hypothesis too: it begins the next document.
        var hypotheses = BeamSearch.Run(model, prompt, options, tokenizer.EosId,
                                        seq => tokenizer.EndsText(seq[^1])
                                               || (options.Stop.Count > 0 && FirstStop(tokenizer.Decode(seq.ToArray(), prompt[^1]), options.Stop) >= 0),
                                        tokenizer.VocabSize, cancellation);
        var samples = new List<GeneratedSample>(hypotheses.Count);
        int generated = 0;
        foreach (var h in hypotheses)
        {
            generated += h.Tokens.Count;
            bool eot = h.Finished && h.Tokens.Count > 0 && tokenizer.EndsText(h.Tokens[^1]);
            var kept = eot ? h.Tokens.Take(h.Tokens.Count - 1).ToList() : h.Tokens.ToList();
            var text = tokenizer.Decode(kept.ToArray(), prompt[^1]);
            int stop = FirstStop(text, options.Stop);
            var reason = eot ? StopReason.EndOfText
                : stop >= 0 ? StopReason.StopString
                : cancellation.IsCancellationRequested ? StopReason.Cancelled : StopReason.MaxNewTokens;
            if (stop >= 0) text = text[..stop];
            samples.Add(new GeneratedSample(text, kept, reason, h.Score));
            onText?.Invoke(samples.Count - 1, text);
        }
        return (samples, generated);
    }

    /// <summary>Where the first stop string begins in <paramref name="text"/>, or -1.</summary>
    private static int FirstStop(string text, IReadOnlyList<string> stops)
    {
        int at = -1;
        foreach (var s in stops)
        {
            int i = text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at)) at = i;
        }
        return at;
    }
}
