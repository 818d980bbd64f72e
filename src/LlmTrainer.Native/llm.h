// Common definitions for the llmtrain native shim over libtorch.
//
// Conventions (see docs/architecture.md, "The native boundary"):
//  * A tensor crosses the boundary as an owning `at::Tensor*` made by `wrap()` and freed by `llm_tensor_free`.
//  * Every function that can throw returns int32_t: 0 ok, 1 error, 2 out of memory. Results go to out-parameters;
//    a null out-tensor means "undefined", never "error". The message is read with `llm_last_error()`.
//  * No C++ exception ever crosses `extern "C"`: bodies run inside LLM_TRY.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <atomic>
#include <cstdint>
#include <string>

#define LLM_TORCH_VERSION (TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR)

#if defined(_WIN32)
#define LLM_API extern "C" __declspec(dllexport)
#else
#define LLM_API extern "C" __attribute__((visibility("default")))
#endif

typedef at::Tensor* llm_tensor;

namespace llm {

extern std::atomic<int64_t> live_tensors;

void set_error(const std::string& message);

// Takes ownership of a tensor value; an undefined tensor becomes nullptr.
inline llm_tensor wrap(at::Tensor t) {
    if (!t.defined()) return nullptr;
    live_tensors.fetch_add(1, std::memory_order_relaxed);
    return new at::Tensor(std::move(t));
}

inline bool is_oom_message(const std::string& m) {
    return m.find("out of memory") != std::string::npos || m.find("not enough memory") != std::string::npos ||
           m.find("OutOfMemory") != std::string::npos || m.find("can't allocate memory") != std::string::npos;
}

inline c10::ScalarType scalar_type(int32_t code) { return static_cast<c10::ScalarType>(code); }

inline at::Device device(int32_t type, int32_t index) {
    return at::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}

inline at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
    return at::TensorOptions().dtype(scalar_type(dtype)).device(device(device_type, device_index));
}

// Scalars travel by value: a double and an int64 with a flag saying which one is meant, so that
// `int_tensor + 2` stays integral exactly as in PyTorch.
inline at::Scalar scalar(double f, int64_t i, int32_t is_int) {
    return is_int ? at::Scalar(i) : at::Scalar(f);
}

inline std::vector<at::Tensor> tensor_list(const llm_tensor* ts, int32_t n) {
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int32_t k = 0; k < n; k++) v.push_back(*ts[k]);
    return v;
}

inline c10::optional<at::Tensor> optional_tensor(llm_tensor t) {
    if (t == nullptr) return c10::nullopt;
    return *t;
}

// One pass of AdamW over float32 CPU tensors (kernels.cpp); false, doing nothing, when the fused kernels are off or
// a tensor is not a contiguous float32 CPU tensor.
bool adamw_step_fused_cpu(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
                          const std::vector<at::Tensor>& exp_avgs, const std::vector<at::Tensor>& exp_avg_sqs, double lr,
                          double beta1, double beta2, double eps, double weight_decay, int64_t step);

// Whether the caching CPU allocator (allocator.cpp) serves CPU tensors, and whether the fused kernels were compiled
// with OpenMP (without it they run on one thread).
bool cpu_cache_installed();

// Whether llmtrain's own CPU paths are on (torch.fused_kernels): the fused kernels, and the explicit attention path on
// the CPU, measured faster than libtorch's scaled_dot_product_attention there (forward+backward, 2.14).
bool fused_kernels_enabled();

// Whether bfloat16 autocast on the CPU is offered for training. libtorch 1.13 has a CPU autocast, but its op lists
// are incomplete; llmtrain offers it from 2.0 on, where it is tested.
inline bool cpu_bf16_autocast() { return LLM_TORCH_VERSION >= 200; }
bool kernels_parallel();

}  // namespace llm

#define LLM_TRY(...)                                                                        \
    try {                                                                                   \
        __VA_ARGS__;                                                                        \
        return 0;                                                                           \
    } catch (const c10::OutOfMemoryError& e) {                                              \
        llm::set_error(e.what_without_backtrace());                                         \
        return 2;                                                                           \
    } catch (const c10::Error& e) {                                                         \
        std::string m = e.what_without_backtrace();                                         \
        llm::set_error(m);                                                                  \
        return llm::is_oom_message(m) ? 2 : 1;                                              \
    } catch (const std::bad_alloc& e) {                                                     \
        llm::set_error(std::string("out of memory: ") + e.what());                          \
        return 2;                                                                           \
    } catch (const std::exception& e) {                                                     \
        llm::set_error(e.what());                                                           \
        return 1;                                                                           \
    } catch (...) {                                                                         \
        llm::set_error("unknown native error");                                             \
        return 1;                                                                           \
    }
