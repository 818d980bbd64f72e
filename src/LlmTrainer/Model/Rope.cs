using LlmTrainer.Torch;

namespace LlmTrainer.Model;

/// <summary>
/// The tables of rotary position embeddings in the "rotate half" form (as Hugging Face's LLaMA): the head dimension is
/// split in two halves that rotate together, with frequencies θ^(-2i/d). Attention rotates its queries and keys with
/// them (x·cos + rotate_half(x)·sin, <see cref="nn.functional.apply_rotary_emb"/>).
/// </summary>
internal sealed class Rope
{
    /// <summary>(block_size, head_dim) tables; owned by the module that registers them as buffers.</summary>
    public Tensor Cos { get; }
    public Tensor Sin { get; }

    public Rope(int headDim, int maxPositions, double theta)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = 1.0 / torch.pow(theta, torch.arange(0, headDim, 2, ScalarType.Float64) / headDim);
        var positions = torch.arange(0, maxPositions, 1, ScalarType.Float64);
        var freqs = positions.outer(invFreq);
        var emb = torch.cat([freqs, freqs], -1);
        Cos = emb.cos().to(ScalarType.Float32).DetachFromDisposeScope();
        Sin = emb.sin().to(ScalarType.Float32).DetachFromDisposeScope();
    }

    public (Tensor Cos, Tensor Sin) Slice(long start, long length) => (Cos.narrow(0, start, length), Sin.narrow(0, start, length));
}
