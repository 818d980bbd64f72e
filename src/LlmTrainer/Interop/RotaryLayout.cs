using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// The two orders of a query/key projection's rows that rotary embeddings assume. Ours (Hugging Face's) rotates the
/// two halves of each head together: dimension i pairs with i + head_dim/2. Meta's original code, llama2.c's run.c and
/// llama.cpp rotate adjacent pairs: 2i with 2i+1. Moving the rows of each head between the two orders makes one model
/// compute exactly what the other does (the attention scores are the same dot products, in another order).
/// </summary>
public static class RotaryLayout
{
    /// <summary>Rows (heads·head_dim, in) from rotate-half order to interleaved order: within a head, row j·2+p ← p·head_dim/2 + j.</summary>
    public static Tensor ToInterleaved(Tensor weight, int heads)
    {
        long rows = weight.size(0), cols = weight.size(1);
        long half = rows / heads / 2;
        return weight.reshape(heads, 2, half, cols).transpose(1, 2).reshape(rows, cols).contiguous();
    }

    /// <summary>The inverse of <see cref="ToInterleaved"/>: interleaved pairs back to rotate-half order.</summary>
    public static Tensor ToHalves(Tensor weight, int heads)
    {
        long rows = weight.size(0), cols = weight.size(1);
        long half = rows / heads / 2;
        return weight.reshape(heads, half, 2, cols).transpose(1, 2).reshape(rows, cols).contiguous();
    }
}
