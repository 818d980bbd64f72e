using LlmTrainer.Torch.Native;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class nn
{
    /// <summary>torch.nn.functional.</summary>
    public static class functional
    {
        public static Tensor embedding(Tensor input, Tensor weight)
        {
            Check(llm_embedding(weight, input, out var r));
            return Tensor.New(r);
        }

        public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null)
        {
            Check(llm_linear(input, weight, bias, out var r));
            return Tensor.New(r);
        }

        /// <summary>x / √(mean(x²) + eps) · weight over the last dimension, computed in float32 like LLaMA.</summary>
        public static Tensor rms_norm(Tensor input, Tensor? weight, double eps = 1e-5)
        {
            Check(llm_rms_norm(input, weight, eps, out var r));
            return Tensor.New(r);
        }

        public static Tensor silu(Tensor input) => input.silu();

        /// <summary>silu(gate) · up, the activation of LLaMA's SwiGLU feed-forward (one fused pass on the CPU).</summary>
        public static Tensor swiglu(Tensor gate, Tensor up)
        {
            Check(llm_swiglu(gate, up, out var r));
            return Tensor.New(r);
        }

        /// <summary>
        /// Rotary position embedding in the rotate-half form (Hugging Face's LLaMA): x·cos + [−x₂, x₁]·sin, for x of shape
        /// (B, H, T, D) and tables cos, sin of shape (T, D). The result is contiguous (B, H, T, D) whatever x's strides,
        /// so a transposed projection output goes straight in.
        /// </summary>
        public static Tensor apply_rotary_emb(Tensor x, Tensor cos, Tensor sin)
        {
            Check(llm_rope(x, cos, sin, out var r));
            return Tensor.New(r);
        }

        public static Tensor gelu(Tensor input) => input.gelu();

        public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => input.softmax(dim, dtype);

        public static Tensor log_softmax(Tensor input, long dim, ScalarType? dtype = null) => input.log_softmax(dim, dtype);

        public static Tensor dropout(Tensor input, double p = 0.5, bool training = true)
        {
            Check(llm_dropout(input, p, training ? 1 : 0, out var r));
            return Tensor.New(r);
        }

        /// <summary>Cross entropy of (N, C) logits against (N) class indices; targets equal to ignore_index do not count.</summary>
        public static Tensor cross_entropy(Tensor input, Tensor target, long ignore_index = -100, Reduction reduction = Reduction.Mean,
                                           double label_smoothing = 0)
        {
            Check(llm_cross_entropy(input, target, ignore_index, (int)reduction, label_smoothing, out var r));
            return Tensor.New(r);
        }

        /// <summary>
        /// softmax(q kᵀ · scale + mask) v. q: (B, H, L, D); k, v: (B, Hkv, S, D) with H a multiple of Hkv
        /// (grouped-query attention). A boolean mask marks positions that may be attended; a float mask is added.
        /// Uses libtorch's fused kernels when it has them (flash attention on CUDA), except on the CPU while
        /// <see cref="torch.fused_kernels"/> is on: there the explicit path is faster. <paramref name="explicit_path"/>
        /// forces the plain matmul–mask–softmax path.
        /// </summary>
        public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                                                          double dropout_p = 0, bool is_causal = false, double? scale = null,
                                                          bool explicit_path = false)
        {
            Check(llm_sdpa(query, key, value, attn_mask, dropout_p,
                           is_causal ? 1 : 0, scale ?? 0, explicit_path ? 1 : 0, out var r));
            return Tensor.New(r);
        }
    }

    public enum Reduction
    {
        None = 0,
        Mean = 1,
        Sum = 2,
    }

    /// <summary>torch.nn.init: in-place initialisers (no gradient recorded).</summary>
    public static class init
    {
        public static Tensor normal_(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
        {
            using var _ = torch.no_grad();
            return tensor.normal_(mean, std, generator);
        }

        public static Tensor uniform_(Tensor tensor, double from = 0, double to = 1, Generator? generator = null)
        {
            using var _ = torch.no_grad();
            return tensor.uniform_(from, to, generator);
        }

        public static Tensor zeros_(Tensor tensor)
        {
            using var _ = torch.no_grad();
            return tensor.zero_();
        }

        public static Tensor ones_(Tensor tensor)
        {
            using var _ = torch.no_grad();
            return tensor.fill_(1);
        }
    }

    public static class utils
    {
        /// <summary>
        /// Scales gradients so that their global 2-norm is at most <paramref name="max_norm"/>; returns the norm
        /// before clipping as a scalar tensor on the gradients' device (as torch.nn.utils.clip_grad_norm_), so that
        /// nothing waits for the device until it is read. One native call for all parameters.
        /// </summary>
        public static unsafe Tensor clip_grad_norm_(IEnumerable<Tensor> parameters, double max_norm, double norm_type = 2)
        {
            var list = parameters as IReadOnlyList<Tensor> ?? parameters.ToList();
            var ptrs = Tensor.Handles(list);
            IntPtr total;
            fixed (IntPtr* p = ptrs) Check(llm_clip_grad_norm(p, ptrs.Length, max_norm, norm_type, out total));
            GC.KeepAlive(list);
            return Tensor.New(total);
        }
    }
}
