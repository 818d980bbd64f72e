using LlmTrainer.Sampling;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Sampling;

/// <summary>Small constructed next-token models and a tokenizer for generation tests.</summary>
internal static class TestModels
{
    private static Tokenizer? tokenizer;

    /// <summary>A byte-level BPE tokenizer with a few merges; ids 0–255 are the bytes.</summary>
    public static Tokenizer Tokenizer => tokenizer ??= Tokenizer.Train(
        Enumerable.Repeat("Once upon a time there was a little cat. The cat liked the sun. ", 20), 300);

    /// <summary>Byte tokens of <paramref name="text"/> (id = byte value).</summary>
    public static int[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();
}

/// <summary>
/// Next-token probabilities as a function of the tokens generated so far (the same for every row that has the same
/// tokens); rows follow their parents as beam search reorders them.
/// </summary>
internal sealed class FunctionModel(int vocab, Func<IReadOnlyList<int>, double[]> probabilities, int context = 1024) : INextTokenModel
{
    private List<int>[] generated = [];

    public int VocabSize => vocab;

    public int ContextLength => context;

    public int WindowSlides => 0;

    public int Starts { get; private set; }

    /// <summary>The rows of every <see cref="Start"/>, in order.</summary>
    public List<int> StartedRows { get; } = [];

    /// <summary>The prompt of every <see cref="Start"/>, in order: what the model was conditioned on.</summary>
    public List<int[]> StartedPrompts { get; } = [];

    public Tensor Start(IReadOnlyList<int> prompt, int rows)
    {
        Starts++;
        StartedRows.Add(rows);
        StartedPrompts.Add([.. prompt]);
        generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        return Logits();
    }

    public Tensor Append(IReadOnlyList<int> tokens, IReadOnlyList<int>? parents = null)
    {
        if (parents is not null) generated = parents.Select(p => new List<int>(generated[p])).ToArray();
        for (int i = 0; i < tokens.Count; i++) generated[i].Add(tokens[i]);
        return Logits();
    }

    public void Reset() => generated = [];

    private Tensor Logits()
    {
        var values = new float[generated.Length * vocab];
        for (int r = 0; r < generated.Length; r++)
        {
            var p = probabilities(generated[r]);
            for (int t = 0; t < vocab; t++) values[r * vocab + t] = (float)Math.Log(t < p.Length ? Math.Max(p[t], 1e-12) : 1e-12);
        }
        return torch.tensor(values, [generated.Length, vocab]);
    }

    /// <summary>A model that produces <paramref name="script"/> (then <paramref name="end"/> forever) with near certainty.</summary>
    public static FunctionModel Scripted(int vocab, IReadOnlyList<int> script, int end) => new(vocab, prefix =>
    {
        var p = new double[vocab];
        p[prefix.Count < script.Count ? script[prefix.Count] : end] = 1;
        return p;
    });
}
