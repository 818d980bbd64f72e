// Build information: what this shim was compiled against and which optional paths it has.
#include "llm.h"

#include <string>

LLM_API const char* llm_build_info() {
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
