using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// llama2.c's run.c starts every generation from token id 1 (its beginning-of-sequence) and stops when id 1 comes
/// again. Our documents start and end with <c>&lt;|endoftext|&gt;</c>, so a llama2.c export swaps the ids of
/// <c>&lt;|endoftext|&gt;</c> and of token 1 — the embedding rows, the classifier rows and the vocabulary alike: the
/// model computes exactly the same, and run.c's id 1 is our document separator.
/// </summary>
public sealed class TokenIdSwap
{
    private TokenIdSwap(int a, int b) => (A, B) = (a, b);

    public int A { get; }

    public int B { get; }

    /// <summary>
    /// The swap of id 1 with the end-of-text id of a byte-level BPE tokenizer; null when end-of-text already is 1, or when
    /// id 1 is a special token already. A SentencePiece tokenizer needs none when its <c>&lt;s&gt;</c> is id 1, as run.c
    /// expects; with <c>&lt;s&gt;</c> elsewhere it cannot be exported for run.c.
    /// </summary>
    public static TokenIdSwap? ForRunC(Tokenizer tokenizer) => tokenizer switch
    {
        ByteLevelBpeTokenizer bpe => bpe.EndOfTextId == 1 || (bpe.VocabSize > 1 && bpe.IsSpecial(1)) ? null : new TokenIdSwap(1, bpe.EndOfTextId),
        _ when tokenizer.BosId == 1 => null,
        _ => throw new LlmTrainerException(
            $"llama2.c's run.c starts every text with id 1, and this run's {SentencePieceVocab.Describe(tokenizer)} has <s> at id {tokenizer.BosId}; export it with --format hf or --format gguf."),
    };

    public int Map(int id) => id == A ? B : id == B ? A : id;

    /// <summary>The rows of a (vocab, d) matrix in swapped order (a new tensor).</summary>
    public Tensor Rows(Tensor weight)
    {
        var order = Enumerable.Range(0, (int)weight.size(0)).Select(i => (long)Map(i)).ToArray();
        using var index = torch.tensor(order, device: weight.device);
        return weight.index_select(0, index);
    }

    /// <summary>The same tokenizer with the two ids exchanged: it encodes and decodes the same text to the swapped ids.</summary>
    public ByteLevelBpeTokenizer Apply(ByteLevelBpeTokenizer tokenizer)
    {
        int size = tokenizer.VocabSize;
        var tokens = new byte[]?[size];
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (text, id) in tokenizer.SpecialTokens)
            specials[text] = Map(id);
        for (int id = 0; id < size; id++)
        {
            int from = Map(id);
            if (!tokenizer.IsSpecial(from))
                tokens[id] = tokenizer.TokenBytes(from).ToArray();
        }
        // Ids left unused (empty) between the vocabulary and a special token stay unused.
        for (int id = 0; id < size; id++)
        {
            if (tokens[id] is { Length: 0 })
                throw new LlmTrainerException("this tokenizer leaves unused ids inside its vocabulary; it cannot be renumbered for llama2.c.");
        }
        var merges = tokenizer.Merges.Select(m => new Merge(Map(m.Left), Map(m.Right), Map(m.Result))).ToList();
        return new ByteLevelBpeTokenizer(tokens, merges, tokenizer.Priorities, specials, tokenizer.Pattern, tokenizer.IgnoreMerges, "llama2.c export");
    }
}
