// Build information: what this shim was compiled against and which optional paths it has.
#include "llm.h"

#include <chrono>
#include <string>

LLM_API const char* llm_build_info() noexcept {
    static const std::string info = [] {
        std::string s = "{";
        s += "\"torch_version\":\"" + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
             std::to_string(TORCH_VERSION_PATCH) + "\"";
#ifdef LLM_WITH_CUDA
        s += ",\"cuda\":true";
#else
        s += ",\"cuda\":false";
#endif
        s += std::string(",\"sdpa\":") + (LLM_TORCH_VERSION >= 201 ? "true" : "false");
        s += std::string(",\"sdpa_gqa\":") + (LLM_TORCH_VERSION >= 205 ? "true" : "false");
        s += std::string(",\"rms_norm\":") + (LLM_TORCH_VERSION >= 204 ? "true" : "false");
        s += std::string(",\"fused_adamw\":") + (LLM_TORCH_VERSION >= 201 ? "true" : "false");
        s += std::string(",\"cpu_kernels_openmp\":") + (llm::kernels_parallel() ? "true" : "false");
        s += std::string(",\"cpu_bf16_autocast\":") + (llm::cpu_bf16_autocast() ? "true" : "false");
        s += std::string(",\"cpu_cache\":") + (llm::cpu_cache_installed() ? "true" : "false");
        s += std::string(",\"cxx11_abi\":") + (_GLIBCXX_USE_CXX11_ABI ? "true" : "false");
        s += "}";
        return s;
    }();
    return info.c_str();
}

// libtorch's own description of its threading and BLAS (at::get_parallel_info), for `llmtrain info`.
LLM_API int32_t llm_parallel_info(char* buf, int32_t cap) {
    LLM_TRY({
        std::string s = at::get_parallel_info();
        std::snprintf(buf, static_cast<size_t>(cap), "%s", s.c_str());
    })
}

// The same tiny-op loops as `llmtrain bench ops`, run entirely in C++: the baseline that shows how much
// time the managed binding (or Python) adds per op. kind: 0 add, 1 matmul, 2 in-place add_.
LLM_API int32_t llm_bench_loop(int32_t kind, llm_tensor a, llm_tensor b, int64_t iters, double* ns_per_op) {
    LLM_TRY({
        auto once = [&] {
            switch (kind) {
                case 0: { at::Tensor r = a->add(*b); break; }
                case 1: { at::Tensor r = a->matmul(*b); break; }
                default: a->add_(*b); break;
            }
        };
        for (int k = 0; k < 1000; k++) once();
        auto start = std::chrono::steady_clock::now();
        for (int64_t k = 0; k < iters; k++) once();
        auto end = std::chrono::steady_clock::now();
        *ns_per_op = std::chrono::duration<double, std::nano>(end - start).count() / static_cast<double>(iters);
    })
}

LLM_API int32_t llm_cpu_bf16_autocast() noexcept { return llm::cpu_bf16_autocast() ? 1 : 0; }
