using LlmTrainer.Torch;

namespace LlmTrainer.Sampling;

/// <summary>
/// What generation needs from a language model: next-token logits for a batch of rows that grow one token at a time.
/// <see cref="LlamaNextTokenModel"/> is the real one (KV cache, sliding window); tests give small constructed ones.
/// </summary>
public interface INextTokenModel
{
    /// <summary>Width of the logits (may exceed the tokenizer's vocabulary; the extra ids are never chosen).</summary>
    int VocabSize { get; }

    /// <summary>Most tokens the model sees at once; a longer prompt must be cut first.</summary>
    int ContextLength { get; }

    /// <summary>Times the context filled up and the model continued from its last tokens (since <see cref="Start"/>).</summary>
    int WindowSlides { get; }

    /// <summary>
    /// Begins <paramref name="rows"/> identical sequences holding <paramref name="prompt"/> (1..ContextLength tokens) and
    /// returns the logits of each row's next token: float32 (rows, VocabSize), owned by the current dispose scope.
    /// </summary>
    Tensor Start(IReadOnlyList<int> prompt, int rows);

    /// <summary>
    /// Appends <paramref name="tokens"/>[i] to row i and returns the next logits, as <see cref="Start"/>. With
    /// <paramref name="parents"/>, row i first becomes a copy of the former row parents[i] (beam search).
    /// </summary>
    Tensor Append(IReadOnlyList<int> tokens, IReadOnlyList<int>? parents = null);

    /// <summary>Frees what <see cref="Start"/> set up (the KV cache).</summary>
    void Reset();
}
