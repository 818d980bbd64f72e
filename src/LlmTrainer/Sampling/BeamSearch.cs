using LlmTrainer.Torch;

namespace LlmTrainer.Sampling;

/// <summary>
/// Beam search as Hugging Face's (BeamSearchScorer, early_stopping=False): each step extends the running beams by every
/// token, keeps the 2·beams best candidates by summed log-probability, sets aside those that end (end-of-text or
/// <c>ends</c>) among the top beams as finished hypotheses scored Σ log p / length^α (length: generated tokens, the
/// end-of-text token included), and continues with the best beams that did not end. It stops when beams hypotheses
/// are finished and none of the running beams can beat the worst of them at its current length, or at max_new_tokens
/// (where the running beams join the finished ones). With one beam it is exactly greedy decoding.
/// </summary>
public static class BeamSearch
{
    /// <param name="model">Next-token logits; its rows are the beams.</param>
    /// <param name="prompt">The prompt's tokens (1..context length).</param>
    /// <param name="options">Beams, LengthPenalty, MaxNewTokens, RepetitionPenalty and NumSamples apply.</param>
    /// <param name="endOfTextId">The token that ends a hypothesis.</param>
    /// <param name="ends">Whether generated tokens (end-of-text excluded) already end a hypothesis, e.g. by a stop string.</param>
    /// <param name="vocabSize">Only token ids below it are considered (the tokenizer's vocabulary); null = the model's.</param>
    /// <returns>The NumSamples best hypotheses, best first.</returns>
    public static IReadOnlyList<BeamHypothesis> Run(INextTokenModel model, IReadOnlyList<int> prompt, SamplingOptions options, int endOfTextId,
                                                    Func<IReadOnlyList<int>, bool>? ends = null, int? vocabSize = null,
                                                    CancellationToken cancellation = default)
    {
        int beams = options.Beams;
        double alpha = options.LengthPenalty;
        int vocab = Math.Min(vocabSize ?? model.VocabSize, model.VocabSize);
        var finished = new List<BeamHypothesis>();
        var sequences = Enumerable.Range(0, beams).Select(_ => new List<int>()).ToArray();
        var scores = new double[beams];
        Array.Fill(scores, double.NegativeInfinity);
        scores[0] = 0; // all beams start as the same prompt: expand only one of them at first
        bool done = false;

        Tensor? logits = null, seen = null;
        try
        {
            using (var start = torch.NewDisposeScope())
            {
                logits = model.Start(prompt, beams).DetachFromDisposeScope();
                if (options.RepetitionPenalty != 1)
                    seen = LogitsProcessors.SeenMask(beams, vocab, [.. prompt], logits.device).DetachFromDisposeScope();
            }

            for (int step = 1; step <= options.MaxNewTokens && !cancellation.IsCancellationRequested; step++)
            {
                using var scope = torch.NewDisposeScope();
                var l = logits.size(1) > vocab ? logits.narrow(1, 0, vocab) : logits;
                if (seen is not null) l = LogitsProcessors.RepetitionPenalty(l, seen, options.RepetitionPenalty);
                var total = l.log_softmax(-1, ScalarType.Float64) + torch.tensor(scores, [beams, 1], logits.device);
                var (values, indices) = total.view(-1).topk(Math.Min(2 * beams, beams * vocab));
                var candidateScores = values.cpu().ToArray<double>();
                var candidateIds = indices.cpu().ToArray<long>();

                var next = new List<(int Parent, int Token, double Score, List<int> Sequence)>(beams);
                for (int rank = 0; rank < candidateIds.Length && next.Count < beams; rank++)
                {
                    double score = candidateScores[rank];
                    if (double.IsNegativeInfinity(score)) break;
                    int parent = (int)(candidateIds[rank] / vocab), token = (int)(candidateIds[rank] % vocab);
                    var sequence = new List<int>(sequences[parent]) { token };
                    bool isEnd = token == endOfTextId;
                    if (isEnd || (ends?.Invoke(sequence) ?? false))
                    {
                        // As Hugging Face: a hypothesis that ends counts only if it ranks among the top beams.
                        if (rank < beams) AddFinished(finished, new BeamHypothesis(sequence, score, Score(score, sequence.Count, alpha), true), beams);
                        continue;
                    }
                    next.Add((parent, token, score, sequence));
                }

                if (next.Count == 0) { done = true; break; }
                if (finished.Count >= beams && finished.Min(h => h.Score) >= Score(next[0].Score, step, alpha)) { done = true; break; }
                if (step == options.MaxNewTokens)
                {
                    foreach (var n in next) AddFinished(finished, new BeamHypothesis(n.Sequence, n.Score, Score(n.Score, n.Sequence.Count, alpha), false), beams);
                    done = true;
                    break;
                }
                while (next.Count < beams) next.Add(next[^1] with { Score = double.NegativeInfinity }); // keep the row count

                var parents = next.Select(n => n.Parent).ToArray();
                var tokens = next.Select(n => n.Token).ToArray();
                for (int i = 0; i < beams; i++)
                {
                    sequences[i] = next[i].Sequence;
                    scores[i] = next[i].Score;
                }
                if (seen is not null)
                {
                    var reordered = seen.index_select(0, torch.tensor(parents.Select(p => (long)p).ToArray(), device: seen.device));
                    LogitsProcessors.MarkSeen(reordered, tokens.Select(t => (long)t).ToArray());
                    seen.copy_(reordered);
                }
                var nextLogits = model.Append(tokens, parents).DetachFromDisposeScope();
                logits.Dispose();
                logits = nextLogits;
            }

            if (!done) // cancelled: the running beams are what there is
                for (int i = 0; i < beams; i++)
                    if (!double.IsNegativeInfinity(scores[i]) && sequences[i].Count > 0)
                        AddFinished(finished, new BeamHypothesis(sequences[i], scores[i], Score(scores[i], sequences[i].Count, alpha), false), beams);
        }
        finally
        {
            logits?.Dispose();
            seen?.Dispose();
        }
        return finished.OrderByDescending(h => h.Score).Take(options.NumSamples).ToList();
    }

    /// <summary>Hugging Face's length-penalised score: Σ log p / length^α.</summary>
    public static double Score(double sumLogProb, int length, double lengthPenalty) => sumLogProb / Math.Pow(Math.Max(length, 1), lengthPenalty);

    private static void AddFinished(List<BeamHypothesis> finished, BeamHypothesis h, int beams)
    {
        finished.Add(h);
        if (finished.Count > beams)
            finished.Remove(finished.MinBy(x => x.Score)!);
    }
}
