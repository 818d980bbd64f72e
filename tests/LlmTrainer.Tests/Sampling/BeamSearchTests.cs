using LlmTrainer.Model;
using LlmTrainer.Sampling;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

[Collection("torch")]
public sealed class BeamSearchTests
{
    private const int A = 0, B = 1, End = 2, C = 3;

    /// <summary>
    /// Greedy takes A (0.5) and then faces a flat distribution: A A End has probability 0.5·0.3·1 = 0.15. B (0.4) is
    /// almost always followed by End: B End has probability 0.4·0.9 = 0.36.
    /// </summary>
    private static FunctionModel Trap() => new(4, prefix => prefix switch
    {
        [] => [0.5, 0.4, 0.0, 0.1],
        [A] => [0.3, 0.25, 0.2, 0.25],
        [B] => [0.05, 0.03, 0.9, 0.02],
        _ => [0, 0, 1, 0],
    });

    [Fact]
    public void Beam_search_finds_the_more_likely_sequence_that_greedy_misses()
    {
        var greedy = BeamSearch.Run(Trap(), [7], new SamplingOptions { Beams = 1, LengthPenalty = 0 }, End);
        Assert.Equal([A, A, End], greedy[0].Tokens);
        Assert.Equal(Math.Log(0.15), greedy[0].SumLogProb, 5);

        var beam = BeamSearch.Run(Trap(), [7], new SamplingOptions { Beams = 2, LengthPenalty = 0, NumSamples = 2 }, End);
        Assert.Equal([B, End], beam[0].Tokens);
        Assert.Equal(Math.Log(0.36), beam[0].SumLogProb, 5);
        Assert.True(beam[0].Finished);
        Assert.True(beam[0].Score >= beam[1].Score);
    }

    [Fact]
    public void The_length_penalty_divides_by_length_to_the_power_alpha()
    {
        Assert.Equal(-3.0, BeamSearch.Score(-6, 4, 0.5), 10);
        Assert.Equal(-6.0, BeamSearch.Score(-6, 4, 0), 10);
        var beam = BeamSearch.Run(Trap(), [7], new SamplingOptions { Beams = 2, LengthPenalty = 1 }, End);
        Assert.Equal(Math.Log(0.36) / 2, beam[0].Score, 5);
    }

    [Fact]
    public void Stop_conditions_and_max_new_tokens_end_hypotheses()
    {
        // A stop condition on token C: C ends a hypothesis like the end-of-text token.
        var stopAtC = BeamSearch.Run(new FunctionModel(4, _ => [0.1, 0.1, 0.1, 0.7]), [7], new SamplingOptions { Beams = 2 }, End,
                                     ends: seq => seq[^1] == C);
        Assert.Equal([C], stopAtC[0].Tokens);
        var capped = BeamSearch.Run(new FunctionModel(4, _ => [0.7, 0.2, 0.05, 0.05]), [7], new SamplingOptions { Beams = 3, MaxNewTokens = 5 }, End);
        Assert.Equal([A, A, A, A, A], capped[0].Tokens);
        Assert.False(capped[0].Finished);
    }

    [Fact]
    public void One_beam_equals_greedy_on_a_real_model_and_the_cache_follows_the_beams()
    {
        var tok = TestModels.Tokenizer;
        torch.manual_seed(21);
        using var model = new Llama(new LlamaConfig(tok.VocabSize, 32, 2, 4, 2, 64, 64));
        model.eval();
        int[] prompt = [tok.BosId, .. tok.Encode("Once upon a time")];
        var generator = new TextGenerator(new LlamaNextTokenModel(model), tok);
        var greedy = generator.Generate("Once upon a time", new SamplingOptions { Temperature = 0, MaxNewTokens = 20 });
        var oneBeam = BeamSearch.Run(new LlamaNextTokenModel(model), prompt, new SamplingOptions { Beams = 1, MaxNewTokens = 20 }, tok.BosId);
        Assert.Equal(greedy.Samples[0].Tokens, oneBeam[0].Tokens.Where(t => t != tok.BosId));

        // Reordering the KV cache along the beams gives what recomputing every beam from scratch gives.
        var options = new SamplingOptions { Beams = 4, MaxNewTokens = 12, NumSamples = 4, RepetitionPenalty = 1.1 };
        var cached = BeamSearch.Run(new LlamaNextTokenModel(model), prompt, options, tok.BosId);
        var recomputed = BeamSearch.Run(new LlamaNextTokenModel(model, useKvCache: false), prompt, options, tok.BosId);
        Assert.Equal(4, cached.Count);
        Assert.Equal(recomputed.Select(h => h.Tokens), cached.Select(h => h.Tokens));
        for (int i = 0; i < 4; i++) Assert.Equal(recomputed[i].Score, cached[i].Score, 4);
        Assert.True(cached.Zip(cached.Skip(1)).All(p => p.First.Score >= p.Second.Score));
    }
}
