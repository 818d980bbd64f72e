using LlmTrainer.Config;

namespace LlmTrainer.Planning;

/// <summary>
/// Bytes of one micro-batch's activations as llmtrain's own training step holds them (Model/Llama.cs), tensor by tensor.
/// Two sets matter: what the forward holds (every tensor a layer makes stays referenced by the step's dispose scope until
/// the loss is computed) and what autograd saves for the backward (what remains once the scope lets go). The step's
/// peak is the larger of the two moments: the end of the forward (all tensors made, plus the logits) and the start of the
/// backward (the saved tensors, plus the logits and their gradient).
/// On the CPU in float32 (llmtrain's fused RMSNorm, RoPE, SwiGLU and cross-entropy kernels, and its explicit attention
/// that keeps the (T, T) softmax of every head), and on CUDA with bfloat16 autocast (matrix products in bf16, the
/// residual stream and the norms in fp32, flash attention that keeps no (T, T) matrix, cross-entropy in fp32).
/// </summary>
public sealed record ActivationModel(bool Cuda, bool Autocast)
{
    /// <param name="cfg">The config; its batch_size and block_size give the micro-batch.</param>
    public LayerBytes Layer(TrainConfig cfg)
    {
        double n = (double)cfg.BatchSize * cfg.BlockSize; // tokens of a micro-batch
        var shape = cfg.ToModelConfig();
        double d = shape.DModel, kv = (double)shape.NKvHead * shape.HeadDim;
        // The MLP's hidden width per token: with a mixture of experts each token passes experts_per_token experts, and
        // its gathered input and output per expert come on top (as does the router's (N, E) logits).
        double f = shape.IsMoe ? (double)shape.FfnHidden * shape.ExpertsPerToken : shape.FfnHidden;
        double moe = shape.IsMoe ? n * (2.0 * d * shape.ExpertsPerToken + 2 * shape.NExperts) : 0;
        double scores = (double)cfg.BatchSize * cfg.NHead * cfg.BlockSize * cfg.BlockSize; // one (T, T) matrix per head
        if (!Cuda)
        {
            const double a = 4; // float32
            // Made: the norms' outputs, q/k/v and their rotations, attention's output (and its contiguous copy), the value copy
            // of the explicit attention, o_proj, both residual sums, the MLP's gate, up, SwiGLU and down; and the softmax.
            double forward = a * (n * (10 * d + 4 * kv + 3 * f) + scores) + a * moe;
            // Saved: the layer's input, the first norm's output, rotated q and k, the value copy, the softmax, attention's
            // output, the residual sum, the second norm's output, gate, up and the SwiGLU output, and both norms' 1/rms.
            double saved = a * (n * (6 * d + 2 * kv + 3 * f + 2) + scores) + a * moe;
            // The recomputed layer's backward (activation checkpointing): the softmax's gradient twice and two (N, d) gradients.
            double recompute = a * (2 * scores + 2 * n * d);
            return new LayerBytes(forward, saved, a * n * d, recompute);
        }
        if (Autocast)
        {
            // bf16 (2 bytes) matrix products, fp32 (4 bytes) residual stream and norms; each bf16 linear input is a cast copy.
            double forward = n * (46 * d + 6 * kv + 8 * f) + n * cfg.NHead * 4 + n * 8 + 2 * moe;
            double saved = n * (32 * d + 4 * kv + 8 * f) + n * cfg.NHead * 4 + n * 8 + 2 * moe;
            double recompute = n * (6 * d + 4 * kv + 8 * f);
            return new LayerBytes(forward, saved, 4 * n * d, recompute);
        }
        // CUDA in float32: the same tensors in 4 bytes, without the casts.
        double forward32 = 4 * (n * (12 * d + 3 * kv + 4 * f) + n * cfg.NHead) + 4 * moe;
        double saved32 = 4 * (n * (8 * d + 2 * kv + 4 * f) + n * cfg.NHead) + 4 * moe;
        return new LayerBytes(forward32, saved32, 4 * n * d, 4 * n * (3 * d + 2 * kv + 4 * f));
    }

    /// <summary>The logits of a micro-batch and what the loss makes of them, at the end of the forward and in the backward.</summary>
    public (double Forward, double Backward) Logits(TrainConfig cfg)
    {
        double nv = (double)cfg.BatchSize * cfg.BlockSize * cfg.VocabSize;
        if (!Cuda) return (4 * nv, 8 * nv); // the logits; then with their gradient (the fused cross-entropy keeps no softmax)
        // On CUDA cross-entropy runs in fp32: bf16 logits (under autocast), an fp32 copy and its log-softmax; in the backward the
        // saved log-softmax, the incoming gradient and the gradient of the logits.
        return Autocast ? (10 * nv, 12 * nv) : (8 * nv, 12 * nv);
    }

    /// <summary>The embedding's output and the final norm's input and output, around the layers.</summary>
    public double Around(TrainConfig cfg) => 2.0 * cfg.BatchSize * cfg.BlockSize * cfg.DModel * 4;
}

/// <summary>One decoder layer's activations for one micro-batch, in bytes.</summary>
/// <param name="Forward">Every tensor the layer makes, held until the loss is computed.</param>
/// <param name="Saved">What autograd keeps for the backward.</param>
/// <param name="Input">The layer's input, all that activation checkpointing keeps.</param>
/// <param name="RecomputeBackward">The gradients in flight while a recomputed layer runs its backward.</param>
public sealed record LayerBytes(double Forward, double Saved, double Input, double RecomputeBackward);
