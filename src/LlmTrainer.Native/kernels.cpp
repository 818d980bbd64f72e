// Fused CPU kernels for the hot path of a LLaMA training step: RMSNorm, rotary embeddings, SwiGLU, cross-entropy, AdamW.
//
// Each is one pass over memory forward and one backward, where the same computation written with ATen ops makes
// four to ten (every op reads and writes a whole tensor, and autograd keeps the intermediates). They apply to
// float32 CPU tensors; anything else (CUDA, bfloat16 under autocast, unusual shapes) takes the ATen composition,
// which is also what the fused kernels are tested against. llm_set_fused_kernels(0) turns them off.
#include "llm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using llm::wrap;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

bool fused_enabled = true;

bool fusable(const at::Tensor& t) {
    return fused_enabled && t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat && t.numel() > 0;
}

// Rows per parallel chunk so that a chunk holds at least ~32k elements (thread start-up is not free).
int64_t grain_rows(int64_t row_length) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, row_length)); }

// e^x for float in a form the compiler vectorises: x = n·ln2 + r with |r| <= ln2/2, e^r by its Taylor series to
// degree 7 (relative error below 3e-8, under float's rounding), 2^n assembled in the exponent bits. NaN propagates;
// inputs are clamped to the range where 2^n is a normal float.
inline float exp_f32(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
    const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Strides equal to a dense permutation of the sizes (e.g. a transposed contiguous tensor): a gradient allocated with
// them lets the backward of the transpose/view before us stay a view instead of a copy.
bool dense_permutation(at::IntArrayRef sizes, at::IntArrayRef strides) {
    std::vector<int64_t> order(sizes.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int64_t>(i);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return strides[a] < strides[b]; });
    int64_t expected = 1;
    for (int64_t d : order) {
        if (sizes[d] != 1 && strides[d] != expected) return false;
        expected *= sizes[d];
    }
    return true;
}

// ---- RMSNorm: y = x · rsqrt(mean(x²) + eps) · w over the last dimension ----

struct RmsNormFn : torch::autograd::Function<RmsNormFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight, double eps) {
        at::Tensor x = input.contiguous(), w = weight.contiguous();
        const int64_t d = x.size(-1), rows = x.numel() / d;
        at::Tensor y = at::empty_like(x), rstd = at::empty({rows}, x.options());
        const float *px = x.data_ptr<float>(), *pw = w.data_ptr<float>();
        float *py = y.data_ptr<float>(), *pr = rstd.data_ptr<float>();
        const float feps = static_cast<float>(eps), inv_d = 1.0f / static_cast<float>(d);
        at::parallel_for(0, rows, grain_rows(d), [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; r++) {
                const float* xr = px + r * d;
                float* yr = py + r * d;
                float ss = 0;
#pragma omp simd reduction(+ : ss)
                for (int64_t j = 0; j < d; j++) ss += xr[j] * xr[j];
                const float rs = 1.0f / std::sqrt(ss * inv_d + feps);
                pr[r] = rs;
#pragma omp simd
                for (int64_t j = 0; j < d; j++) yr[j] = xr[j] * rs * pw[j];
            }
        });
        ctx->save_for_backward({x, w, rstd});
        return y;
    }

    // dx = rs · (g·w − x · rs² · mean(g·w·x)),  dw = Σ_rows g · x · rs
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const at::Tensor &x = saved[0], &w = saved[1], &rstd = saved[2];
        at::Tensor g = grads[0].contiguous();
        const int64_t d = x.size(-1), rows = x.numel() / d;
        const bool want_dw = ctx->needs_input_grad(1);
        // dw is summed over rows: each chunk of rows adds into its own partial row, and the partials are summed at
        // the end (chunks, not thread ids, index the partials: the same result for any scheduling).
        const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows / grain_rows(d)));
        at::Tensor dx = at::empty_like(x);
        at::Tensor partial = want_dw ? at::zeros({chunks, d}, x.options()) : at::Tensor();
        const float *px = x.data_ptr<float>(), *pw = w.data_ptr<float>(), *pr = rstd.data_ptr<float>(), *pg = g.data_ptr<float>();
        float* pdx = dx.data_ptr<float>();
        float* ppart = want_dw ? partial.data_ptr<float>() : nullptr;
        const float inv_d = 1.0f / static_cast<float>(d);
        at::parallel_for(0, chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
            for (int64_t chunk = chunk_begin; chunk < chunk_end; chunk++) {
                float* dw = want_dw ? ppart + chunk * d : nullptr;
                for (int64_t r = rows * chunk / chunks; r < rows * (chunk + 1) / chunks; r++) {
                    const float *xr = px + r * d, *gr = pg + r * d;
                    float* dxr = pdx + r * d;
                    const float rs = pr[r];
                    float dot = 0;
#pragma omp simd reduction(+ : dot)
                    for (int64_t j = 0; j < d; j++) dot += gr[j] * pw[j] * xr[j];
                    const float c = rs * rs * dot * inv_d;
#pragma omp simd
                    for (int64_t j = 0; j < d; j++) dxr[j] = rs * (gr[j] * pw[j] - xr[j] * c);
                    if (dw != nullptr) {
#pragma omp simd
                        for (int64_t j = 0; j < d; j++) dw[j] += gr[j] * xr[j] * rs;
                    }
                }
            }
        });
        at::Tensor dw = want_dw ? partial.sum(0) : at::Tensor();
        return {dx.view(grads[0].sizes()), dw, at::Tensor()};
    }
};

// ---- Rotary embeddings, rotate-half form: out = x·cos + [−x₂, x₁]·sin, for x (B, H, T, D), cos/sin (T, D) ----

// Forward: o₁ = x₁·c₁ − x₂·s₁, o₂ = x₂·c₂ + x₁·s₂. Backward (the transpose): dx₁ = g₁·c₁ + g₂·s₂, dx₂ = g₂·c₂ − g₁·s₁.
// (With LLaMA's tables s₁ = s₂ and the backward is the inverse rotation, but any tables are handled exactly.)
void rotate(const float* px, at::IntArrayRef xs, const float* pc, const float* ps, bool backward, float* po, at::IntArrayRef os,
            int64_t B, int64_t H, int64_t T, int64_t D) {
    const int64_t half = D / 2;
    at::parallel_for(0, B * H * T, grain_rows(D), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i++) {
            const int64_t t = i % T, h = (i / T) % H, b = i / (T * H);
            const float* x = px + b * xs[0] + h * xs[1] + t * xs[2];
            float* o = po + b * os[0] + h * os[1] + t * os[2];
            const float *c = pc + t * D, *s = ps + t * D;
            if (!backward) {
#pragma omp simd
                for (int64_t j = 0; j < half; j++) {
                    const float x1 = x[j], x2 = x[j + half];
                    o[j] = x1 * c[j] - x2 * s[j];
                    o[j + half] = x2 * c[j + half] + x1 * s[j + half];
                }
            } else {
#pragma omp simd
                for (int64_t j = 0; j < half; j++) {
                    const float g1 = x[j], g2 = x[j + half];
                    o[j] = g1 * c[j] + g2 * s[j + half];
                    o[j + half] = g2 * c[j + half] - g1 * s[j];
                }
            }
        }
    });
}

struct RopeFn : torch::autograd::Function<RopeFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& cos, const at::Tensor& sin) {
        at::Tensor x = input.stride(-1) == 1 ? input : input.contiguous();
        at::Tensor c = cos.contiguous(), s = sin.contiguous();
        const int64_t B = x.size(0), H = x.size(1), T = x.size(2), D = x.size(3);
        at::Tensor out = at::empty({B, H, T, D}, x.options());
        rotate(x.data_ptr<float>(), x.strides(), c.data_ptr<float>(), s.data_ptr<float>(), false, out.data_ptr<float>(), out.strides(),
               B, H, T, D);
        ctx->save_for_backward({c, s});
        // The gradient is made in the input's memory layout when that is a dense permutation (q_proj's output viewed
        // as (B, H, T, D)), so that the backward of that view is free.
        const bool keep_layout = dense_permutation(input.sizes(), input.strides());
        ctx->saved_data["strides"] = keep_layout ? input.strides().vec() : std::vector<int64_t>{};
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        at::Tensor g = grads[0].stride(-1) == 1 ? grads[0] : grads[0].contiguous();
        const int64_t B = g.size(0), H = g.size(1), T = g.size(2), D = g.size(3);
        auto strides = ctx->saved_data["strides"].toIntVector();
        at::Tensor dx = strides.empty() ? at::empty({B, H, T, D}, g.options()) : at::empty_strided({B, H, T, D}, strides, g.options());
        rotate(g.data_ptr<float>(), g.strides(), saved[0].data_ptr<float>(), saved[1].data_ptr<float>(), true, dx.data_ptr<float>(),
               dx.strides(), B, H, T, D);
        return {dx, at::Tensor(), at::Tensor()};
    }
};

at::Tensor rope_composite(const at::Tensor& x, at::Tensor cos, at::Tensor sin) {
    const int64_t half = x.size(-1) / 2;
    if (cos.scalar_type() != x.scalar_type()) {  // bfloat16 under autocast
        cos = cos.to(x.scalar_type());
        sin = sin.to(x.scalar_type());
    }
    at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
}

// ---- SwiGLU: silu(a) · b ----

struct SwiGluFn : torch::autograd::Function<SwiGluFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
        at::Tensor a = gate.contiguous(), b = up.contiguous();
        at::Tensor y = at::empty_like(a);
        const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
        float* py = y.data_ptr<float>();
        at::parallel_for(0, a.numel(), 32768, [&](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; i++) py[i] = pa[i] / (1.0f + exp_f32(-pa[i])) * pb[i];
        });
        ctx->save_for_backward({a, b});
        return y;
    }

    // With s = sigmoid(a): da = g · b · s · (1 + a · (1 − s)),  db = g · a · s
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const at::Tensor &a = saved[0], &b = saved[1];
        at::Tensor g = grads[0].contiguous();
        at::Tensor da = at::empty_like(a), db = at::empty_like(b);
        const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>(), *pg = g.data_ptr<float>();
        float *pda = da.data_ptr<float>(), *pdb = db.data_ptr<float>();
        at::parallel_for(0, a.numel(), 32768, [&](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; i++) {
                const float s = 1.0f / (1.0f + exp_f32(-pa[i]));
                const float silu = pa[i] * s;
                pda[i] = pg[i] * pb[i] * (s + silu * (1.0f - s));
                pdb[i] = pg[i] * silu;
            }
        });
        return {da, db};
    }
};

// ---- Cross-entropy of logits (N, V) against int64 targets (N,): loss = logsumexp(x) − x[target] ----

struct CrossEntropyFn : torch::autograd::Function<CrossEntropyFn> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& target_in, int64_t ignore_index,
                              int64_t reduction) {
        at::Tensor x = input.contiguous(), target = target_in.contiguous();
        const int64_t n = x.size(0), v = x.size(1);
        at::Tensor lse = at::empty({n}, x.options()), losses = at::empty({n}, x.options());
        const float* px = x.data_ptr<float>();
        const int64_t* pt = target.data_ptr<int64_t>();
        float *plse = lse.data_ptr<float>(), *ploss = losses.data_ptr<float>();
        std::atomic<bool> has_bad_target{false};
        std::atomic<int64_t> bad_target{0};
        at::parallel_for(0, n, grain_rows(v), [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; i++) {
                const float* row = px + i * v;
                float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
                for (int64_t j = 0; j < v; j++) m = row[j] > m ? row[j] : m;
                float s = 0, nan_check = 0;
#pragma omp simd reduction(+ : s, nan_check)
                for (int64_t j = 0; j < v; j++) {
                    s += exp_f32(row[j] - m);
                    nan_check += row[j] * 0.0f;  // NaN or ±inf anywhere in the row makes this NaN
                }
                const float l = m + std::log(s) + nan_check;
                plse[i] = l;
                const int64_t t = pt[i];
                if (t == ignore_index) {
                    ploss[i] = 0;
                } else if (t < 0 || t >= v) {
                    bad_target.store(t);
                    has_bad_target.store(true);
                    ploss[i] = 0;
                } else {
                    ploss[i] = l - row[t];
                }
            }
        });
        if (has_bad_target.load())
            throw std::out_of_range("Target " + std::to_string(bad_target.load()) + " is out of bounds (" + std::to_string(v) +
                                    " classes)");
        int64_t count = 0;
        for (int64_t i = 0; i < n; i++) count += pt[i] != ignore_index;
        ctx->save_for_backward({x, target, lse});
        ctx->saved_data["ignore_index"] = ignore_index;
        ctx->saved_data["reduction"] = reduction;
        ctx->saved_data["count"] = count;
        if (reduction == at::Reduction::None) return losses;
        double total = 0;  // summed in order, in double: the same result for any thread count
        for (int64_t i = 0; i < n; i++) total += ploss[i];
        if (reduction == at::Reduction::Mean) total /= static_cast<double>(count);  // no valid target: NaN, as PyTorch
        return at::scalar_tensor(total, x.options());
    }

    // d loss_i / d x_ij = softmax(x_i)_j − [j = target_i], times the upstream gradient (÷ count for the mean).
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        auto saved = ctx->get_saved_variables();
        const at::Tensor &x = saved[0], &target = saved[1], &lse = saved[2];
        const int64_t ignore_index = ctx->saved_data["ignore_index"].toInt(), reduction = ctx->saved_data["reduction"].toInt();
        const int64_t count = ctx->saved_data["count"].toInt();
        const int64_t n = x.size(0), v = x.size(1);
        at::Tensor g = grads[0].contiguous();
        at::Tensor dx = at::empty_like(x);
        const float *px = x.data_ptr<float>(), *plse = lse.data_ptr<float>(), *pg = g.data_ptr<float>();
        const int64_t* pt = target.data_ptr<int64_t>();
        float* pdx = dx.data_ptr<float>();
        const float scalar_scale = reduction == at::Reduction::None ? 0.0f
                                   : reduction == at::Reduction::Mean ? pg[0] / static_cast<float>(count)
                                                                      : pg[0];
        at::parallel_for(0, n, grain_rows(v), [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; i++) {
                const float* row = px + i * v;
                float* out = pdx + i * v;
                const int64_t t = pt[i];
                if (t == ignore_index) {
                    std::fill(out, out + v, 0.0f);
                    continue;
                }
                const float scale = reduction == at::Reduction::None ? pg[i] : scalar_scale, l = plse[i];
#pragma omp simd
                for (int64_t j = 0; j < v; j++) out[j] = exp_f32(row[j] - l) * scale;
                out[t] -= scale;
            }
        });
        return {dx, at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

}  // namespace

// The maths of the _foreach_ path in optim.cpp (and of torch.optim.AdamW), element by element in one pass, instead of
// nine passes over parameters and state: p ← p·(1 − lr·wd); m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
// p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps).
bool llm::adamw_step_fused_cpu(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
                               const std::vector<at::Tensor>& exp_avgs, const std::vector<at::Tensor>& exp_avg_sqs, double lr,
                               double beta1, double beta2, double eps, double weight_decay, int64_t step) {
    auto ok = [](const at::Tensor& t) { return fusable(t) && t.is_contiguous(); };
    for (size_t k = 0; k < params.size(); k++)
        if (!ok(params[k]) || !ok(grads[k]) || !ok(exp_avgs[k]) || !ok(exp_avg_sqs[k])) return false;
    const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    const float decay = static_cast<float>(1.0 - lr * weight_decay), b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const float one_minus_b1 = static_cast<float>(1.0 - beta1), one_minus_b2 = static_cast<float>(1.0 - beta2);
    const float neg_step_size = static_cast<float>(-(lr / bias_correction1)), sqrt_bc2 = static_cast<float>(std::sqrt(bias_correction2));
    const float feps = static_cast<float>(eps);
    const bool decays = weight_decay != 0;
    for (size_t k = 0; k < params.size(); k++) {
        float *p = params[k].data_ptr<float>(), *m = exp_avgs[k].data_ptr<float>(), *v = exp_avg_sqs[k].data_ptr<float>();
        const float* g = grads[k].data_ptr<float>();
        at::parallel_for(0, params[k].numel(), 32768, [&](int64_t begin, int64_t end) {
#pragma omp simd
            for (int64_t i = begin; i < end; i++) {
                const float pi = decays ? p[i] * decay : p[i];
                const float mi = m[i] * b1 + g[i] * one_minus_b1;
                const float vi = v[i] * b2 + g[i] * g[i] * one_minus_b2;
                m[i] = mi;
                v[i] = vi;
                p[i] = pi + neg_step_size * (mi / (std::sqrt(vi) / sqrt_bc2 + feps));
            }
        });
    }
    return true;
}

bool llm::fused_kernels_enabled() { return fused_enabled; }

bool llm::kernels_parallel() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

LLM_API void llm_set_fused_kernels(int32_t enabled) noexcept { fused_enabled = enabled != 0; }

LLM_API int32_t llm_fused_kernels() noexcept { return fused_enabled ? 1 : 0; }

// RMSNorm as in LLaMA: normalise in float32, cast back to the input dtype, then scale by the weight.
LLM_API int32_t llm_rms_norm(llm_tensor x, llm_tensor weight, double eps, llm_tensor* out) {
    LLM_TRY({
        const at::Tensor& in = *x;
        if (fusable(in) && weight != nullptr && fusable(*weight) && weight->dim() == 1 && weight->size(0) == in.size(-1)) {
            *out = wrap(RmsNormFn::apply(in, *weight, eps));
            return 0;
        }
#if LLM_TORCH_VERSION >= 204
        if (in.scalar_type() == at::kFloat && (weight == nullptr || weight->scalar_type() == at::kFloat)) {
            *out = wrap(at::rms_norm(in, {in.size(-1)}, llm::optional_tensor(weight), eps));
            return 0;
        }
#endif
        at::Tensor h = in.to(at::kFloat);
        at::Tensor normed = h.mul(h.pow(2).mean(-1, true).add(eps).rsqrt()).to(in.scalar_type());
        *out = wrap(weight == nullptr ? normed : normed.mul(*weight));
    })
}

// x (B, H, T, D) rotated by position tables cos, sin (T, D); the result is contiguous.
LLM_API int32_t llm_rope(llm_tensor x, llm_tensor cos, llm_tensor sin, llm_tensor* out) {
    LLM_TRY({
        const at::Tensor& in = *x;
        if (in.dim() != 4 || in.size(-1) % 2 != 0 || cos->dim() != 2 || !cos->sizes().equals(sin->sizes()) ||
            cos->size(0) != in.size(2) || cos->size(1) != in.size(3))
            throw std::invalid_argument("rope: expected x (B, H, T, D) with D even and cos, sin (T, D); got x " +
                                        c10::str(in.sizes()) + ", cos " + c10::str(cos->sizes()) + ", sin " + c10::str(sin->sizes()));
        // The fused kernel treats the tables as constants (they are buffers); a table that wants a gradient gets the ATen ops.
        if (fusable(in) && fusable(*cos) && fusable(*sin) && !cos->requires_grad() && !sin->requires_grad())
            *out = wrap(RopeFn::apply(in, *cos, *sin));
        else
            *out = wrap(rope_composite(in, *cos, *sin));
    })
}

// silu(gate) · up, element-wise (the SwiGLU feed-forward's activation).
LLM_API int32_t llm_swiglu(llm_tensor gate, llm_tensor up, llm_tensor* out) {
    LLM_TRY({
        if (!gate->sizes().equals(up->sizes()))
            throw std::invalid_argument("swiglu: gate " + c10::str(gate->sizes()) + " and up " + c10::str(up->sizes()) +
                                        " must have the same shape");
        if (fusable(*gate) && fusable(*up))
            *out = wrap(SwiGluFn::apply(*gate, *up));
        else
            *out = wrap(at::silu(*gate).mul(*up));
    })
}

// reduction: 0 none, 1 mean, 2 sum (at::Reduction).
LLM_API int32_t llm_cross_entropy(llm_tensor logits, llm_tensor target, int64_t ignore_index, int32_t reduction,
                                  double label_smoothing, llm_tensor* out) {
    LLM_TRY({
        const at::Tensor &x = *logits, &t = *target;
        if (fusable(x) && x.dim() == 2 && t.dim() == 1 && t.scalar_type() == at::kLong && t.device().is_cpu() &&
            t.size(0) == x.size(0) && label_smoothing == 0.0 && reduction >= 0 && reduction <= 2)
            *out = wrap(CrossEntropyFn::apply(x, t, ignore_index, reduction));
        else
            *out = wrap(at::cross_entropy_loss(x, t, c10::nullopt, reduction, ignore_index, label_smoothing));
    })
}
