using LlmTrainer.Model;
using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Tests.Model;

/// <summary>
/// doc_mask: a packed sequence must compute, token for token and in its gradients, what its documents compute one by
/// one (each its own sequence from position 0, so rotary positions restart in effect), and the KV-cached sampler must
/// match the full forward.
/// </summary>
[Collection("torch")]
public sealed class DocumentMaskTests
{
    private const int Separator = 0;

    private static LlamaConfig Config() =>
        new(VocabSize: 40, DModel: 32, NLayer: 2, NHead: 4, NKvHead: 2, FfnHidden: 48, BlockSize: 24,
            DocMask: true, DocumentSeparator: Separator);

    // Row 0: a document cut by the window, then three documents (one of a single token); row 1: no separator at all.
    private static readonly long[][] Rows =
    [
        [5, 9, 3, 0, 7, 7, 12, 30, 0, 0, 18, 2, 4, 6, 8, 1, 0, 11, 13, 17],
        [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4],
    ];

    private static readonly long[][] Targets =
    [
        [9, 3, 0, 7, 7, 12, 30, 0, 0, 18, 2, 4, 6, 8, 1, 0, 11, 13, 17, 21],
        [1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6],
    ];

    private static Tensor Ids(long[][] rows) => torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    /// <summary>[start, end) of each document of a row: a new one at every separator.</summary>
    private static List<(int Start, int End)> Documents(long[] row)
    {
        var spans = new List<(int, int)>();
        int start = 0;
        for (int i = 1; i <= row.Length; i++)
        {
            if (i == row.Length || row[i] == Separator)
            {
                spans.Add((start, i));
                start = i;
            }
        }
        return spans;
    }

    private static Dictionary<string, float[]> Gradients(Llama model) =>
        model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.ToArray<float>());

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}[{i}]: {actual[i]} instead of {expected[i]}");
    }

    [Fact]
    public void Packed_logits_and_gradients_match_a_reference_run_document_by_document()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        using var model = new Llama(Config());
        using var plain = new Llama(Config() with { DocMask = false });
        plain.load_state_dict(model.state_dict());
        int b = Rows.Length, t = Rows[0].Length, v = model.Config.VocabSize;

        var logits = model.forward(Ids(Rows));
        var loss = F.cross_entropy(logits.view(-1, v), Ids(Targets).view(-1), reduction: nn.Reduction.Sum);
        loss.backward();
        var grads = Gradients(model);
        var packed = logits.detach().ToArray<float>();

        // The reference: each document alone, from position 0, without a document mask; the same summed loss.
        var expected = new float[b * t * v];
        Tensor? total = null;
        for (int r = 0; r < b; r++)
        {
            foreach (var (start, end) in Documents(Rows[r]))
            {
                var ids = torch.tensor(Rows[r][start..end], [1, end - start]);
                var target = torch.tensor(Targets[r][start..end], [1, end - start]);
                var docLogits = plain.forward(ids);
                docLogits.detach().ToArray<float>().CopyTo(expected, (r * t + start) * v);
                var docLoss = F.cross_entropy(docLogits.view(-1, v), target.view(-1), reduction: nn.Reduction.Sum);
                total = total is null ? docLoss : total + docLoss;
            }
        }
        total!.backward();
        AssertClose(expected, packed, 1e-5, "logits");
        Assert.Equal(total.item<float>(), loss.item<float>(), 1e-3);
        foreach (var (name, expectedGrad) in Gradients(plain))
            AssertClose(expectedGrad, grads[name], 1e-5, name);

        // Activation checkpointing computes the same gradients through the same mask.
        foreach (var p in model.parameters())
            p.grad!.zero_();
        model.forward_backward(Ids(Rows), Ids(Targets), lossScale: b * t);
        foreach (var (name, expectedGrad) in Gradients(plain))
            AssertClose(expectedGrad, Gradients(model)[name], 1e-5, "checkpointed " + name);
    }

    [Fact]
    public void A_document_sees_nothing_of_the_one_before_while_without_the_mask_it_does()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        using var model = new Llama(Config());
        using var plain = new Llama(Config() with { DocMask = false });
        plain.load_state_dict(model.state_dict());
        long[] row = Rows[0];
        long[] changed = (long[])row.Clone();
        for (int i = 4; i < 8; i++)
            changed[i] = 20 + i; // the second document's tokens, same length
        int v = model.Config.VocabSize;
        var a = model.forward(Ids([row])).ToArray<float>();
        var c = model.forward(Ids([changed])).ToArray<float>();
        // From the third document on (position 8) nothing changes; inside the changed document everything does.
        AssertClose(a[(8 * v)..], c[(8 * v)..], 1e-6, "later documents");
        Assert.NotEqual(a[(5 * v)..(6 * v)], c[(5 * v)..(6 * v)]);
        // Before the first separator the mask is the causal one; after it, the plain model sees across documents.
        var p = plain.forward(Ids([row])).ToArray<float>();
        AssertClose(p[..(3 * v)], a[..(3 * v)], 1e-6, "before the first separator");
        Assert.Contains(Enumerable.Range(10 * v, v), i => Math.Abs(a[i] - p[i]) > 1e-4);
    }

    [Fact]
    public void The_kv_cached_sampler_matches_the_full_forward_across_document_boundaries()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(13);
        using var model = new Llama(Config());
        model.eval();
        using var noGrad = torch.no_grad();
        int t = Rows[0].Length, v = model.Config.VocabSize;
        var full = model.forward(Ids(Rows)).ToArray<float>();

        // A prompt of 6 tokens (a separator inside it), then a chunk of 3, then one token at a time.
        model.setup_cache(Rows.Length);
        var chunks = new List<float[]>();
        var ids = Ids(Rows);
        int pos = 0;
        foreach (int length in new[] { 6, 3 }.Concat(Enumerable.Repeat(1, t - 9)))
        {
            chunks.Add(model.forward(ids.narrow(1, pos, length), pos).ToArray<float>());
            pos += length;
        }
        for (int r = 0; r < Rows.Length; r++)
        {
            var cached = new List<float>();
            foreach (var chunk in chunks)
            {
                int length = chunk.Length / (Rows.Length * v);
                cached.AddRange(chunk.AsSpan(r * length * v, length * v).ToArray());
            }
            AssertClose(full.AsSpan(r * t * v, t * v).ToArray(), cached.ToArray(), 1e-5, $"row {r}");
        }

        // Beam search reorders each position's document with the keys and values: rows swapped after 10 positions
        // continue as the swapped rows' full forward does.
        model.setup_cache(Rows.Length);
        _ = model.forward(ids.narrow(1, 0, 10), 0);
        model.reorder_cache(torch.tensor(new long[] { 1, 0 }, [2]));
        long[][] swapped = [Rows[1], Rows[0]];
        var expected = model.forward(Ids(swapped)).narrow(1, 10, t - 10).ToArray<float>();
        var continued = model.forward(Ids(swapped).narrow(1, 10, t - 10), 10).ToArray<float>();
        AssertClose(expected, continued, 1e-5, "after reorder");
        model.clear_cache();
    }
}
