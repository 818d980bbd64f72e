using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LlmTrainer.Config;
using LlmTrainer.Evaluation;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Tests.Data;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Evaluation;

/// <summary>
/// Evaluation of a tiny fixed-weight model over a fixed token stream, against numbers PyTorch computed for the same
/// windows (Fixtures/make_eval_fixture.py). The vocabulary is bytes plus &lt;|endoftext|&gt;, so every byte count is
/// worked out by hand.
/// </summary>
[Collection("torch")]
public sealed class EvaluatorTests : IDisposable
{
    private const int EndOfTextBytes = 13; // "<|endoftext|>"
    private readonly JsonElement fixture;
    private readonly Llama model;
    private readonly Tokenizer tokenizer;
    private readonly int[] tokens;

    public EvaluatorTests()
    {
        fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Evaluation", "Fixtures", "eval.json"))).RootElement;
        var c = fixture.GetProperty("config");
        model = new Llama(new LlamaConfig(
            c.GetProperty("vocab_size").GetInt32(), c.GetProperty("d_model").GetInt32(), c.GetProperty("n_layer").GetInt32(),
            c.GetProperty("n_head").GetInt32(), c.GetProperty("n_kv_head").GetInt32(), c.GetProperty("ffn_hidden").GetInt32(),
            c.GetProperty("block_size").GetInt32(), c.GetProperty("norm_eps").GetDouble(), c.GetProperty("rope_theta").GetDouble()));
        using (var scope = torch.NewDisposeScope())
        {
            model.load_state_dict(fixture.GetProperty("weights").EnumerateObject().ToDictionary(
                p => p.Name,
                p => torch.tensor(
                    p.Value.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray(),
                    p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray())));
        }
        // 256 byte tokens and <|endoftext|>, no merges: id = byte value, 256 = end of text.
        tokenizer = Tokenizer.Train(["no merges wanted"], 257);
        tokens = fixture.GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray();
    }

    public void Dispose() => model.Dispose();

    private JsonElement Case(long? maxTokens) => fixture.GetProperty("cases").EnumerateArray()
        .Single(e => e.GetProperty("max_tokens").ValueKind == JsonValueKind.Null ? maxTokens is null : e.GetProperty("max_tokens").GetInt64() == maxTokens);

    private EvalResult Evaluate(int batchSize = 2, long? maxTokens = null) =>
        Evaluator.Evaluate(model, tokenizer, EvalInput.FromTokens(tokens, "fixture"), Device.CPU, null, new EvalOptions(batchSize, maxTokens));

    [Fact]
    public void The_fixture_stream_is_plain_text_in_a_byte_vocabulary()
    {
        Assert.Equal(256, tokenizer.BosId);
        Assert.Equal(257, tokenizer.VocabSize);
        var documents = fixture.GetProperty("documents").EnumerateArray().Select(d => d.GetString()!).ToArray();
        Assert.Equal(documents.SelectMany(d => new[] { 256 }.Concat(tokenizer.Encode(d))), tokens);
        Assert.Equal(string.Concat(documents.Select(d => "<|endoftext|>" + d)), tokenizer.Decode(tokens));
    }

    [Fact]
    public void Loss_perplexity_and_bits_per_byte_match_pytorch_over_every_window()
    {
        var expected = Case(null);
        var r = Evaluate();
        Assert.Equal(28, r.Tokens); // 29 tokens: all but the first are predicted
        Assert.Equal(4, r.Windows); // 8 + 8 + 8 + 4
        Assert.Equal(expected.GetProperty("targets").GetInt64(), r.Tokens);
        Assert.Equal(expected.GetProperty("windows").GetArrayLength(), r.Windows);
        double loss = expected.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(r.Loss - loss) < 1e-5, $"loss {r.Loss} vs PyTorch {loss}");
        Assert.Equal(Math.Exp(r.Loss), r.Perplexity, 12);
        Assert.True(Math.Abs(r.Perplexity - Math.Exp(loss)) < 1e-5 * Math.Exp(loss));

        // Targets: "Once upon a time, a cat" (23 bytes), <|endoftext|> (13 bytes), "Bye." (4 bytes).
        Assert.Equal(23 + EndOfTextBytes + 4, r.Bytes);
        Assert.Equal(loss * 28 / Math.Log(2) / 40, r.BitsPerByte, 4);
        Assert.Equal(r.Loss * 28 / Math.Log(2) / 40, r.BitsPerByte, 12);
        Assert.Equal(r.BitsPerByte / 8, r.Model.Ratio, 12);
        Assert.Equal(r.BitsPerByte, r.Model.BitsPerByte, 12);
        Assert.Equal(r.Loss * 28 / Math.Log(2) / 8, r.Model.CompressedBytes, 9);
    }

    [Fact]
    public void Max_tokens_evaluates_the_first_predictions_only()
    {
        var expected = Case(13);
        var r = Evaluate(maxTokens: 13);
        Assert.Equal(13, r.Tokens);
        Assert.Equal(2, r.Windows); // 8 + 5
        double loss = expected.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(r.Loss - loss) < 1e-5, $"loss {r.Loss} vs PyTorch {loss}");
        // The 13 targets are "nce upon a ti": 13 bytes.
        Assert.Equal(13, r.Bytes);
        Assert.Equal(loss * 13 / Math.Log(2) / 13, r.BitsPerByte, 4);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(64)]
    public void The_batch_size_does_not_change_the_numbers(int batchSize)
    {
        var reference = Evaluate(batchSize: 1);
        var r = Evaluate(batchSize);
        Assert.Equal(reference.Tokens, r.Tokens);
        Assert.Equal(reference.Bytes, r.Bytes);
        Assert.True(Math.Abs(reference.Loss - r.Loss) < 1e-6, $"batch {batchSize}: {r.Loss} vs {reference.Loss}");
        Assert.Equal(reference.Gzip, r.Gzip);
        Assert.Equal(reference.Brotli, r.Brotli);
    }

    [Fact]
    public void The_compressors_see_exactly_the_decoded_targets()
    {
        var r = Evaluate();
        var bytes = tokenizer.DecodeBytes(tokens.AsSpan(1));
        Assert.Equal(bytes.Length, r.Bytes);
        var gz = new MemoryStream();
        using (var g = new GZipStream(gz, CompressionLevel.SmallestSize))
            g.Write(bytes);
        Assert.Equal(gz.ToArray().Length, r.Gzip.CompressedBytes);
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
        Assert.True(BrotliEncoder.TryCompress(bytes, buffer, out int brotli, 11, 24));
        Assert.Equal(brotli, r.Brotli.CompressedBytes);
        Assert.All(r.Compressors, c => Assert.Equal(r.Bytes, c.OriginalBytes));
        Assert.Equal(8.0 * r.Gzip.CompressedBytes / r.Bytes, r.Gzip.BitsPerByte, 12);
        Assert.Equal(["llmtrain model", "gzip -9", "brotli q11"], r.Compressors.Select(c => c.Name));
    }

    [Fact]
    public void Several_streams_are_windowed_separately_and_max_tokens_counts_across_them()
    {
        // The same stream twice: twice the targets, the same mean loss, and windows never span the two.
        using var input = new TwoStreams(tokens);
        var one = Evaluate();
        var two = Evaluator.Evaluate(model, tokenizer, input.Input, Device.CPU);
        Assert.Equal(2 * one.Tokens, two.Tokens);
        Assert.Equal(2 * one.Windows, two.Windows);
        Assert.Equal(2 * one.Bytes, two.Bytes);
        Assert.True(Math.Abs(one.Loss - two.Loss) < 1e-6);
        var capped = Evaluator.Evaluate(model, tokenizer, input.Input, Device.CPU, options: new EvalOptions(MaxTokens: 30));
        Assert.Equal(30, capped.Tokens);
        Assert.Equal(5, capped.Windows); // 4 windows of the first stream, 1 of 2 targets of the second
    }

    [Fact]
    public void Evaluation_runs_in_inference_mode_reports_progress_and_leaks_no_tensors()
    {
        Evaluate(); // warm up
        long before = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        var progress = new RecordingProgress();
        Evaluator.Evaluate(model, tokenizer, EvalInput.FromTokens(tokens, "fixture"), Device.CPU, null, new EvalOptions(BatchSize: 2), progress);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
        Assert.False(torch.is_inference_mode_enabled());
        var updates = progress.Updates.Where(u => u.Task == "eval").ToList();
        Assert.Equal([2.0, 3.0, 4.0], updates.Select(u => u.Completed)); // two full windows, the third full one, the short last
        Assert.All(updates, u => Assert.Equal(4.0, u.Total));
        Assert.All(updates, u => Assert.Equal("windows", u.Unit));
    }

    [Fact]
    public void Too_little_to_predict_and_bad_options_are_errors()
    {
        var e = Assert.Throws<LlmTrainerException>(() =>
            Evaluator.Evaluate(model, tokenizer, EvalInput.FromTokens([256], "one token"), Device.CPU));
        Assert.Contains("one token has 1 token(s)", e.Message);
        Assert.Contains("at least 2", e.Message);
        Assert.Throws<LlmTrainerException>(() => Evaluate(batchSize: 0));
        Assert.Throws<LlmTrainerException>(() => Evaluate(maxTokens: 0));
    }

    [Fact]
    public void Cancellation_stops_the_evaluation()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Evaluator.Evaluate(model, tokenizer, EvalInput.FromTokens(tokens, "fixture"), Device.CPU, cancellationToken: cancel.Token));
    }

    /// <summary>An input of two in-memory streams, built through the public surface used for prepared splits.</summary>
    private sealed class TwoStreams : IDisposable
    {
        private readonly TempDirectory dir = new();

        public TwoStreams(int[] tokens)
        {
            var a = Path.Combine(dir.Path, "a");
            var b = Path.Combine(dir.Path, "b");
            PreparedFixture.Write(a, tokens, tokens, 257, Tokenizer.Train(["no merges wanted"], 257).Hash);
            PreparedFixture.Write(b, tokens, tokens, 257, Tokenizer.Train(["no merges wanted"], 257).Hash);
            Input = EvalInput.Split(
                DataSpec.Mixture([new DataSource(a, 1), new DataSource(b, 1)]),
                "val", Tokenizer.Train(["no merges wanted"], 257));
        }

        public EvalInput Input { get; }

        public void Dispose()
        {
            Input.Dispose();
            dir.Dispose();
        }
    }
}
