using LlmTrainer.Model;
using LlmTrainer.Sampling;
using LlmTrainer.Tests.Data;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

[Collection("torch")]
public sealed class TextGeneratorTests
{
    private static readonly LlmTrainer.Tokenization.Tokenizer Tok = TestModels.Tokenizer;

    /// <summary>A random-weight model over the test tokenizer's vocabulary (plus a few ids it never uses).</summary>
    private static Llama RandomModel(int block = 64, long seed = 11, Device? device = null)
    {
        torch.manual_seed(seed);
        var model = new Llama(new LlamaConfig(Tok.VocabSize + 3, 32, 2, 4, 2, 64, block), device);
        model.eval();
        return model;
    }

    private static List<int> ReferenceGreedy(Llama model, int[] prompt, int n)
    {
        var ids = new List<int>(prompt);
        var generated = new List<int>();
        using var _ = torch.no_grad();
        for (int i = 0; i < n; i++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(ids.Select(t => (long)t).ToArray(), [1, ids.Count], model.parameters().First().device));
            int next = (int)logits.select(1, ids.Count - 1).narrow(1, 0, Tok.VocabSize).argmax(-1).item<long>();
            if (next == Tok.BosId) break;
            generated.Add(next);
            ids.Add(next);
        }
        return generated;
    }

    /// <summary>Decoding with the KV cache gives the tokens that recomputing the whole sequence at every step gives.</summary>
    [Fact]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Greedy_equals_step_by_step_argmax_of_the_full_forward()
    {
        using var model = RandomModel(device: TestDevice.Current);
        var generator = new TextGenerator(new LlamaNextTokenModel(model), Tok);
        var result = generator.Generate("Once upon a time", new SamplingOptions { Temperature = 0, MaxNewTokens = 30 });
        var expected = ReferenceGreedy(model, [Tok.BosId, .. Tok.Encode("Once upon a time")], 30);
        Assert.Equal(expected, result.Samples[0].Tokens);
        Assert.Equal(Tok.Decode(expected.ToArray()), result.Samples[0].Text);
        Assert.Equal(0, model.CacheBatchSize); // the cache is freed after generation
    }

    /// <summary>Training documents start with the document-start token, so a prompt does too, unless PrependBos is off.</summary>
    [Fact]
    public void A_prompt_starts_with_the_document_start_token_unless_told_not_to()
    {
        var model = FunctionModel.Scripted(Tok.VocabSize, TestModels.Bytes("ok"), Tok.BosId);
        var generator = new TextGenerator(model, Tok);
        var withBos = generator.Generate("The cat", new SamplingOptions { Temperature = 0 });
        var without = generator.Generate("The cat", new SamplingOptions { Temperature = 0, PrependBos = false });
        var empty = generator.Generate("", new SamplingOptions { Temperature = 0, PrependBos = false });

        Assert.Equal([Tok.BosId, .. Tok.Encode("The cat")], model.StartedPrompts[0]);
        Assert.Equal(Tok.Encode("The cat"), model.StartedPrompts[1]);
        Assert.Equal([Tok.BosId], model.StartedPrompts[2]); // an empty prompt is a new document either way
        Assert.Equal(Tok.Encode("The cat").Length + 1, withBos.PromptTokens);
        Assert.Equal(Tok.Encode("The cat").Length, without.PromptTokens);
        Assert.Equal("ok", withBos.Samples[0].Text);
        Assert.Equal("ok", empty.Samples[0].Text);
    }

    [Fact]
    public void Same_seed_same_text_and_a_different_seed_different_text()
    {
        using var model = RandomModel();
        var generator = new TextGenerator(new LlamaNextTokenModel(model), Tok);
        var options = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 24, Seed = 5, NumSamples = 3 };
        var a = generator.Generate("The cat", options);
        var b = generator.Generate("The cat", options);
        var c = generator.Generate("The cat", options with { Seed = 6 });
        Assert.Equal(5, a.Seed);
        Assert.Equal(a.Samples.Select(s => s.Tokens), b.Samples.Select(s => s.Tokens));
        Assert.NotEqual(a.Samples.Select(s => s.Text), c.Samples.Select(s => s.Text));
        // The samples of one batch differ from each other.
        Assert.Equal(3, a.Samples.Select(s => s.Text).Distinct().Count());
        Assert.Equal(a.Samples.Sum(s => s.Tokens.Count + (s.StopReason == StopReason.EndOfText ? 1 : 0)), a.GeneratedTokens);
    }

    [Fact]
    public void Top_k_1_samples_the_greedy_text_and_sampling_runs_with_every_processor()
    {
        using var model = RandomModel();
        var generator = new TextGenerator(new LlamaNextTokenModel(model), Tok);
        var greedy = generator.Generate("The sun", new SamplingOptions { Temperature = 0, MaxNewTokens = 16 });
        var topK1 = generator.Generate("The sun", new SamplingOptions { Temperature = 1.3, TopK = 1, MaxNewTokens = 16, Seed = 1 });
        Assert.Equal(greedy.Samples[0].Tokens, topK1.Samples[0].Tokens);
        var all = generator.Generate("The sun", new SamplingOptions { Temperature = 0.7, TopK = 20, TopP = 0.9, RepetitionPenalty = 1.3, MaxNewTokens = 16, Seed = 2 });
        Assert.NotEmpty(all.Samples[0].Text);
    }

    [Fact]
    public void A_multi_byte_character_split_across_tokens_streams_without_garbage()
    {
        var script = TestModels.Bytes("héllo 😀 wörld ✓");
        var generator = new TextGenerator(FunctionModel.Scripted(Tok.VocabSize, script, Tok.BosId), Tok);
        var pieces = new List<string>();
        var result = generator.Generate("x", new SamplingOptions { Temperature = 0, MaxNewTokens = 100 }, (_, t) => pieces.Add(t));
        Assert.Equal("héllo 😀 wörld ✓", result.Samples[0].Text);
        Assert.Equal("héllo 😀 wörld ✓", string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
        Assert.Contains("😀", pieces); // the emoji's four byte tokens come out as one piece
        Assert.Equal(StopReason.EndOfText, result.Samples[0].StopReason);
        Assert.Equal(script, result.Samples[0].Tokens);
    }

    [Fact]
    public void End_of_text_and_stop_strings_end_a_sample()
    {
        var script = TestModels.Bytes("The cat sat.\n\nThe dog ran.");
        var model = FunctionModel.Scripted(Tok.VocabSize, script, Tok.BosId);
        var generator = new TextGenerator(model, Tok);
        var streamed = new List<string>();

        var stopped = generator.Generate("", new SamplingOptions { Temperature = 0, Stop = ["\n\n", "dog"] }, (_, t) => streamed.Add(t));
        Assert.Equal("The cat sat.", stopped.Samples[0].Text);
        Assert.Equal("The cat sat.", string.Concat(streamed));
        Assert.Equal(StopReason.StopString, stopped.Samples[0].StopReason);
        Assert.Equal(TestModels.Bytes("The cat sat.\n\n").Length, stopped.GeneratedTokens);

        var eot = generator.Generate("", new SamplingOptions { Temperature = 0, MaxNewTokens = 500 });
        Assert.Equal("The cat sat.\n\nThe dog ran.", eot.Samples[0].Text);
        Assert.Equal(StopReason.EndOfText, eot.Samples[0].StopReason);
        Assert.Equal(script.Length + 1, eot.GeneratedTokens);

        var capped = generator.Generate("", new SamplingOptions { Temperature = 0, MaxNewTokens = 7 });
        Assert.Equal("The cat", capped.Samples[0].Text);
        Assert.Equal(StopReason.MaxNewTokens, capped.Samples[0].StopReason);
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_cut_from_the_left_with_a_warning()
    {
        using var model = RandomModel(block: 16);
        var progress = new RecordingProgress();
        var generator = new TextGenerator(new LlamaNextTokenModel(model), Tok, progress);
        var prompt = string.Concat(Enumerable.Repeat("zq", 40));
        var result = generator.Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 30 });
        Assert.True(result.PromptTruncated);
        Assert.Equal(16, result.PromptTokens);
        Assert.Contains(progress.Warnings, w => w.Contains("context of 16", StringComparison.Ordinal));
        // 16 prompt tokens + 30 new ones do not fit a context of 16: the window slid and generation went on.
        Assert.True(result.WindowSlides >= 2);
        Assert.Equal(StopReason.MaxNewTokens, result.Samples[0].StopReason);
        Assert.Equal(30, result.GeneratedTokens);
        Assert.False(generator.Generate("hi", new SamplingOptions { Temperature = 0, MaxNewTokens = 2 }).PromptTruncated);
    }

    [Fact]
    public void Generating_leaves_the_live_handle_count_unchanged()
    {
        using var model = RandomModel(block: 24);
        var generator = new TextGenerator(new LlamaNextTokenModel(model), Tok);
        var options = new SamplingOptions { Temperature = 0.9, TopK = 50, TopP = 0.95, RepetitionPenalty = 1.2, MaxNewTokens = 40, NumSamples = 2, Seed = 3 };
        generator.Generate("Once", options);
        long before = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        var result = generator.Generate("Once upon a time", options);
        generator.Generate("The cat", options with { Beams = 3, NumSamples = 2, TopK = null, TopP = null });
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(result.WindowSlides >= 1);
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
    }

    [Fact]
    public void Bad_options_are_rejected_with_the_option_named()
    {
        var generator = new TextGenerator(FunctionModel.Scripted(Tok.VocabSize, [65], Tok.BosId), Tok);
        Assert.Contains("top_p", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { TopP = 1.5 })).Message);
        Assert.Contains("top_k", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { TopK = 0 })).Message);
        Assert.Contains("temperature", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { Temperature = -1 })).Message);
        Assert.Contains("beams", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { Beams = 0 })).Message);
        Assert.Contains("beam search", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { Beams = 2, TopP = 0.9 })).Message);
        Assert.Contains("num_samples", Assert.Throws<LlmTrainerException>(() => generator.Generate("a", new SamplingOptions { Beams = 2, NumSamples = 3 })).Message);
    }

    /// <summary>A large num_samples decodes in batches of at most MaxBatchRows rows, not as one batch that grows with it.</summary>
    [Fact]
    public void Many_samples_run_in_bounded_batches_with_rows_numbered_throughout()
    {
        var model = FunctionModel.Scripted(Tok.VocabSize, TestModels.Bytes("ab"), Tok.BosId);
        var generator = new TextGenerator(model, Tok);
        int n = 2 * TextGenerator.MaxBatchRows + 22;
        var rowsSeen = new HashSet<int>();
        var result = generator.Generate("x", new SamplingOptions { Temperature = 1, MaxNewTokens = 4, NumSamples = n, Seed = 1 },
            (row, _) => rowsSeen.Add(row));
        Assert.Equal([TextGenerator.MaxBatchRows, TextGenerator.MaxBatchRows, 22], model.StartedRows);
        Assert.Equal(n, result.Samples.Count);
        Assert.All(result.Samples, s => Assert.Equal("ab", s.Text));
        Assert.Equal(Enumerable.Range(0, n), rowsSeen.Order());
        Assert.Contains("at most", Assert.Throws<LlmTrainerException>(
            () => generator.Generate("x", new SamplingOptions { Beams = SamplingOptions.MaxBeams + 1 })).Message);
    }
}
