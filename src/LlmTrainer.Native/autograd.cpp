// Autograd: gradients, grad mode, inference mode, autocast.
#include "llm.h"

#include <ATen/autocast_mode.h>

using llm::wrap;

LLM_API int32_t llm_requires_grad(llm_tensor t) noexcept { return t->requires_grad() ? 1 : 0; }

LLM_API int32_t llm_set_requires_grad(llm_tensor t, int32_t value) { LLM_TRY(t->set_requires_grad(value != 0)) }

LLM_API int32_t llm_backward(llm_tensor t, llm_tensor grad, int32_t retain_graph) {
    LLM_TRY(t->backward(grad == nullptr ? at::Tensor() : *grad, retain_graph != 0 ? c10::optional<bool>(true) : c10::nullopt))
}

// torch.autograd.backward: one backward pass from several roots, each with its gradient (null: ones, for a scalar root).
LLM_API int32_t llm_autograd_backward(const llm_tensor* tensors, const llm_tensor* grads, int32_t n) {
    LLM_TRY({
        std::vector<at::Tensor> roots, root_grads;
        for (int32_t k = 0; k < n; k++) {
            roots.push_back(*tensors[k]);
            root_grads.push_back(grads[k] == nullptr ? at::Tensor() : *grads[k]);
        }
        torch::autograd::backward(roots, root_grads);
    })
}

LLM_API int32_t llm_grad(llm_tensor t, llm_tensor* out) { LLM_TRY(*out = wrap(t->grad())) }

LLM_API int32_t llm_set_grad(llm_tensor t, llm_tensor grad) {
    LLM_TRY(t->mutable_grad() = grad == nullptr ? at::Tensor() : *grad)
}

LLM_API int32_t llm_is_leaf(llm_tensor t) noexcept { return t->is_leaf() ? 1 : 0; }

LLM_API int32_t llm_grad_enabled() noexcept { return at::GradMode::is_enabled() ? 1 : 0; }

LLM_API void llm_set_grad_enabled(int32_t enabled) noexcept { at::GradMode::set_enabled(enabled != 0); }

// InferenceMode is an RAII guard over thread-local state; the binding enters and leaves it in LIFO order
// on the same thread, so the guard object lives on the heap between the two calls.
LLM_API int32_t llm_inference_mode_enter(void** guard) { LLM_TRY(*guard = new c10::InferenceMode(true)) }

LLM_API void llm_inference_mode_exit(void* guard) noexcept { delete static_cast<c10::InferenceMode*>(guard); }

LLM_API int32_t llm_is_inference_mode() noexcept { return c10::InferenceMode::is_enabled() ? 1 : 0; }

// Autocast on CUDA or the CPU (device_type as c10::DeviceType: 0 CPU, 1 CUDA). Enter records the previous state; exit
// restores it (nesting-safe, like torch.autocast). The per-device API appeared in 2.4; before, CPU and GPU had their own.
#if LLM_TORCH_VERSION >= 204
static bool autocast_enabled(at::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
static void set_autocast(at::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
static at::ScalarType autocast_dtype(at::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
static void set_autocast_dtype(at::DeviceType d, at::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
static bool autocast_enabled(at::DeviceType d) { return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled(); }
static void set_autocast(at::DeviceType d, bool on) {
    if (d == at::kCPU) at::autocast::set_cpu_enabled(on);
    else at::autocast::set_enabled(on);
}
static at::ScalarType autocast_dtype(at::DeviceType d) {
    return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
static void set_autocast_dtype(at::DeviceType d, at::ScalarType t) {
    if (d == at::kCPU) at::autocast::set_autocast_cpu_dtype(t);
    else at::autocast::set_autocast_gpu_dtype(t);
}
#endif

static at::DeviceType autocast_device(int32_t device_type) {
    auto d = static_cast<at::DeviceType>(device_type);
    if (d != at::kCPU && d != at::kCUDA) throw std::invalid_argument("autocast: only the CPU and CUDA are supported");
    return d;
}

LLM_API int32_t llm_autocast_enter(int32_t device_type, int32_t dtype, int32_t* prev_enabled, int32_t* prev_dtype) {
    LLM_TRY({
        auto d = autocast_device(device_type);
        *prev_enabled = autocast_enabled(d) ? 1 : 0;
        *prev_dtype = static_cast<int32_t>(autocast_dtype(d));
        set_autocast(d, true);
        set_autocast_dtype(d, llm::scalar_type(dtype));
        at::autocast::increment_nesting();
    })
}

LLM_API int32_t llm_autocast_exit(int32_t device_type, int32_t prev_enabled, int32_t prev_dtype) {
    LLM_TRY({
        auto d = autocast_device(device_type);
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        set_autocast(d, prev_enabled != 0);
        set_autocast_dtype(d, llm::scalar_type(prev_dtype));
    })
}

LLM_API int32_t llm_autocast_is_enabled(int32_t device_type) noexcept {
    auto d = static_cast<at::DeviceType>(device_type);
    if (d != at::kCPU && d != at::kCUDA) return 0;
    return autocast_enabled(d) ? 1 : 0;
}
