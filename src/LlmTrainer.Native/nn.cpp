// nn.functional: the layers a LLaMA decoder needs, with version gates for what newer libtorch has built in.
#include "llm.h"

#include <cmath>
#include <limits>

using llm::wrap;

LLM_API int32_t llm_embedding(llm_tensor weight, llm_tensor indices, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::embedding(*weight, *indices)))
}

LLM_API int32_t llm_linear(llm_tensor x, llm_tensor w, llm_tensor b, llm_tensor* out) {
    LLM_TRY({
        const at::Tensor& in = *x;
        // One row (a decode step at batch 1) on the CPU: a matrix-vector product. BLAS gemm with M = 1 packs the
        // whole weight on every call; gemv streams it once (about 5x faster for a 288x288 weight).
        if (in.is_cpu() && w->dim() == 2 && in.dim() >= 1 && in.numel() > 0 && in.numel() == in.size(-1)) {
            std::vector<int64_t> sizes = in.sizes().vec();
            sizes.back() = w->size(0);
            at::Tensor y = at::mv(*w, in.reshape({in.size(-1)}));
            if (b != nullptr) y = y.add(*b);
            *out = wrap(y.view(sizes));
            return 0;
        }
        *out = wrap(at::linear(in, *w, llm::optional_tensor(b)));
    })
}

LLM_API int32_t llm_dropout(llm_tensor x, double p, int32_t train, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::dropout(*x, p, train != 0)))
}

// q: (B, H, L, D); k, v: (B, Hkv, S, D) with H a multiple of Hkv (grouped-query attention).
// mask: optional, boolean (true = attend) or additive float, broadcastable to (B, H, L, S).
// scale <= 0 means 1/sqrt(D). is_causal uses the top-left aligned lower-triangular mask, as PyTorch does.
// libtorch's fused attention runs where it has one, except on the CPU while llmtrain's own paths are on: there the
// explicit path below is as fast forward and about 1.5x faster forward+backward (libtorch 2.14, 15m shapes).
LLM_API int32_t llm_sdpa(llm_tensor q, llm_tensor k, llm_tensor v, llm_tensor mask, double dropout_p, int32_t is_causal,
                         double scale, int32_t explicit_path, llm_tensor* out) {
    LLM_TRY({
        at::Tensor key = *k, value = *v;
        int64_t h = q->size(-3), hkv = key.size(-3);
        if (h % hkv != 0) throw std::invalid_argument("sdpa: query heads (" + std::to_string(h) +
                                                      ") must be a multiple of key/value heads (" + std::to_string(hkv) + ")");
#if LLM_TORCH_VERSION >= 201
        if (!explicit_path && !(q->is_cpu() && llm::fused_kernels_enabled())) {
            c10::optional<double> sc = scale > 0 ? c10::optional<double>(scale) : c10::nullopt;
#if LLM_TORCH_VERSION >= 205
            *out = wrap(at::scaled_dot_product_attention(*q, key, value, llm::optional_tensor(mask), dropout_p, is_causal != 0, sc,
                                                         h != hkv));
#else
            if (h != hkv) {
                key = key.repeat_interleave(h / hkv, -3);
                value = value.repeat_interleave(h / hkv, -3);
            }
            *out = wrap(at::scaled_dot_product_attention(*q, key, value, llm::optional_tensor(mask), dropout_p, is_causal != 0, sc));
#endif
            return 0;
        }
#else
        (void)explicit_path;
#endif
        if (h != hkv) {
            key = key.repeat_interleave(h / hkv, -3);
            value = value.repeat_interleave(h / hkv, -3);
        }
        double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(q->size(-1)));
        int64_t L = q->size(-2), S = key.size(-2);
        bool same_batch = q->dim() == key.dim() && q->dim() >= 3 &&
                          q->sizes().slice(0, q->dim() - 2).equals(key.sizes().slice(0, key.dim() - 2)) &&
                          value.dim() == key.dim() && value.sizes().slice(0, value.dim() - 2).equals(key.sizes().slice(0, key.dim() - 2));
        if (mask == nullptr && same_batch) {
            // One batched product computes scale · q·kᵀ plus the additive causal mask (0 on and below the diagonal,
            // -inf above): no separate passes over the (L, S) scores for scaling and masking, forward or backward.
            std::vector<int64_t> out_sizes = q->sizes().vec();
            out_sizes.back() = value.size(-1);
            at::Tensor q3 = q->reshape({-1, L, q->size(-1)});
            at::Tensor k3 = key.reshape({-1, S, key.size(-1)});
            at::Tensor v3 = value.reshape({-1, S, value.size(-1)});
            at::Tensor scores;
            if (is_causal) {
                at::Tensor bias = at::full({L, S}, -std::numeric_limits<double>::infinity(), q->options()).triu(1);
                scores = at::baddbmm(bias, q3, k3.transpose(1, 2), 1.0, s);
            } else {
                scores = at::bmm(q3, k3.transpose(1, 2)).mul(s);
            }
            at::Tensor attn = scores.softmax(-1);
            if (dropout_p > 0) attn = at::dropout(attn, dropout_p, true);
            *out = wrap(at::bmm(attn, v3).view(out_sizes));
            return 0;
        }
        at::Tensor scores = at::matmul(*q, key.transpose(-2, -1)).mul(s);
        if (is_causal) {
            at::Tensor keep = at::ones({L, S}, at::TensorOptions().dtype(at::kBool).device(q->device())).tril();
            scores = scores.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
        }
        if (mask != nullptr) {
            if (mask->scalar_type() == at::kBool)
                scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity());
            else
                scores = scores.add(*mask);
        }
        at::Tensor attn = scores.softmax(-1);
        if (dropout_p > 0) attn = at::dropout(attn, dropout_p, true);
        *out = wrap(at::matmul(attn, value));
    })
}
