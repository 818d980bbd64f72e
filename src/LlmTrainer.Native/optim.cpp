// Multi-tensor optimizer paths: one native call per parameter group.
#include "llm.h"

#include <cmath>

using llm::wrap;

namespace {

// Parameters of the group that have a gradient (PyTorch skips the others), with their state.
struct Group {
    std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

Group collect(const llm_tensor* params, const llm_tensor* exp_avgs, const llm_tensor* exp_avg_sqs, int32_t n) {
    Group g;
    for (int32_t k = 0; k < n; k++) {
        const at::Tensor& grad = params[k]->grad();
        if (!grad.defined()) continue;
        g.params.push_back(*params[k]);
        g.grads.push_back(grad);
        g.exp_avgs.push_back(*exp_avgs[k]);
        g.exp_avg_sqs.push_back(*exp_avg_sqs[k]);
    }
    return g;
}

}  // namespace

// AdamW (decoupled weight decay, Loshchilov & Hutter), the same maths as torch.optim.AdamW.
// `step` is the step number after incrementing (1 on the first call). kernel: 1 (the default) uses libtorch's fused
// kernel where it has one for the parameters' device (CUDA from 2.0, the CPU from 2.4: measured 7x faster than the
// one-pass loop below on 2.14), else llmtrain's one-pass kernel for float32 on the CPU, else the `_foreach_*` maths.
// 0 forces the `_foreach_*` maths, 2 libtorch's fused kernel (an error where it is missing), 3 the one-pass kernel.
LLM_API int32_t llm_adamw_step(const llm_tensor* params, const llm_tensor* exp_avgs, const llm_tensor* exp_avg_sqs, int32_t n,
                               double lr, double beta1, double beta2, double eps, double weight_decay, int64_t step,
                               int32_t kernel) {
    LLM_TRY({
        at::NoGradGuard no_grad;
        Group g = collect(params, exp_avgs, exp_avg_sqs, n);
        if (g.params.empty()) return 0;
        const bool on_cuda = g.params[0].is_cuda();
        const bool libtorch_fused = on_cuda ? LLM_TORCH_VERSION >= 201 : LLM_TORCH_VERSION >= 204;
        if (kernel == 2 && !libtorch_fused)
            throw std::invalid_argument("AdamW: libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                        " has no fused AdamW kernel for " + (on_cuda ? "CUDA" : "the CPU"));
#if LLM_TORCH_VERSION >= 201
        if ((kernel == 1 || kernel == 2) && libtorch_fused) {
            at::Tensor step_t = at::full({}, static_cast<double>(step), g.params[0].options().dtype(at::kFloat));
            std::vector<at::Tensor> steps(g.params.size(), step_t);
            at::_fused_adamw_(g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, {}, steps, lr, beta1, beta2, weight_decay, eps,
                              false, false);
            return 0;
        }
#endif
        if ((kernel == 1 || kernel == 3) && llm::adamw_step_fused_cpu(g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, lr, beta1, beta2, eps, weight_decay, step))
            return 0;
        if (kernel == 3)
            throw std::invalid_argument("AdamW: the one-pass kernel takes contiguous float32 CPU tensors, with torch.fused_kernels on");
        if (weight_decay != 0) at::_foreach_mul_(g.params, 1.0 - lr * weight_decay);
        at::_foreach_mul_(g.exp_avgs, beta1);
        at::_foreach_add_(g.exp_avgs, g.grads, 1.0 - beta1);
        at::_foreach_mul_(g.exp_avg_sqs, beta2);
        at::_foreach_addcmul_(g.exp_avg_sqs, g.grads, g.grads, 1.0 - beta2);
        double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
        double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
        double step_size = lr / bias_correction1;
        std::vector<at::Tensor> denom = at::_foreach_sqrt(g.exp_avg_sqs);
        at::_foreach_div_(denom, std::sqrt(bias_correction2));
        at::_foreach_add_(denom, eps);
        at::_foreach_addcdiv_(g.params, g.exp_avgs, denom, -step_size);
    })
}

// Total gradient norm over all parameters (as one vector), then gradients scaled by
// min(1, max_norm / (total + 1e-6)) like torch.nn.utils.clip_grad_norm_. max_norm <= 0 only measures. The norm stays a
// tensor on the gradients' device and the scaling takes the coefficient as a tensor, so nothing waits for the device.
LLM_API int32_t llm_clip_grad_norm(const llm_tensor* params, int32_t n, double max_norm, double norm_type, llm_tensor* total) {
    LLM_TRY({
        at::NoGradGuard no_grad;
        std::vector<at::Tensor> grads;
        for (int32_t k = 0; k < n; k++) {
            const at::Tensor& grad = params[k]->grad();
            if (grad.defined()) grads.push_back(grad);
        }
        if (grads.empty()) {
            *total = wrap(at::zeros({}, at::kFloat));
            return 0;
        }
        std::vector<at::Tensor> norms = at::_foreach_norm(grads, norm_type);
        at::Tensor total_norm = at::norm(at::stack(norms), norm_type);
        if (max_norm > 0) {
            at::Tensor coef = total_norm.add(1e-6).reciprocal().mul(max_norm).clamp_max(1.0);
#if LLM_TORCH_VERSION >= 201
            at::_foreach_mul_(grads, coef);
#else
            for (at::Tensor& g : grads) g.mul_(coef);
#endif
        }
        *total = wrap(total_norm);
    })
}

LLM_API int32_t llm_zero_grad(const llm_tensor* params, int32_t n, int32_t set_to_none) {
    LLM_TRY({
        for (int32_t k = 0; k < n; k++) {
            at::Tensor& grad = params[k]->mutable_grad();
            if (!grad.defined()) continue;
            if (set_to_none) {
                grad.reset();
            } else {
                if (grad.grad_fn()) grad = grad.detach();
                else grad.requires_grad_(false);
                grad.zero_();
            }
        }
    })
}
