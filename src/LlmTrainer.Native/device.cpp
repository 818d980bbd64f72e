// Threads, CUDA devices and the CUDA caching allocator. CUDA specifics compile only when the libtorch has CUDA.
#include "llm.h"

#include <torch/cuda.h>

#ifdef LLM_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <cstdio>

LLM_API int32_t llm_get_num_threads() noexcept { return at::get_num_threads(); }

LLM_API int32_t llm_set_num_threads(int32_t n) { LLM_TRY(at::set_num_threads(n)) }

// A broken CUDA setup can make these throw; for the caller that means "no usable GPU".
LLM_API int32_t llm_cuda_is_available() noexcept {
    try {
        return torch::cuda::is_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

LLM_API int32_t llm_cuda_device_count() noexcept {
    try {
        return static_cast<int32_t>(torch::cuda::device_count());
    } catch (...) {
        return 0;
    }
}

LLM_API int32_t llm_cuda_synchronize(int32_t idx) { LLM_TRY(torch::cuda::synchronize(idx)) }

LLM_API int32_t llm_set_tf32(int32_t enabled) {
    LLM_TRY({
        at::globalContext().setAllowTF32CuBLAS(enabled != 0);
        at::globalContext().setAllowTF32CuDNN(enabled != 0);
    })
}

// Allocator statistics in bytes: which 0 allocated, 1 peak allocated, 2 reserved, 3 peak reserved.
// -1 when this build has no CUDA.
LLM_API int32_t llm_cuda_memory(int32_t idx, int32_t which, int64_t* bytes) {
    LLM_TRY({
#ifdef LLM_WITH_CUDA
        auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(idx));
        // StatType::AGGREGATE is 0 in every version; its namespace moved (c10::CachingAllocator in 2.5+).
        const size_t agg = 0;
        switch (which) {
            case 0: *bytes = stats.allocated_bytes[agg].current; break;
            case 1: *bytes = stats.allocated_bytes[agg].peak; break;
            case 2: *bytes = stats.reserved_bytes[agg].current; break;
            case 3: *bytes = stats.reserved_bytes[agg].peak; break;
            default: throw std::invalid_argument("unknown memory statistic");
        }
#else
        (void)idx;
        (void)which;
        *bytes = -1;
#endif
    })
}

LLM_API int32_t llm_cuda_reset_peak(int32_t idx) {
    LLM_TRY({
#ifdef LLM_WITH_CUDA
        c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(idx));
#else
        (void)idx;
#endif
    })
}

LLM_API int32_t llm_cuda_empty_cache() {
    LLM_TRY({
#ifdef LLM_WITH_CUDA
        c10::cuda::CUDACachingAllocator::emptyCache();
#endif
    })
}

// Device name and total memory; empty name when unknown.
LLM_API int32_t llm_cuda_device_info(int32_t idx, char* name, int32_t cap, int64_t* total_memory, int32_t* major, int32_t* minor) {
    LLM_TRY({
        name[0] = 0;
        *total_memory = -1;
        *major = -1;
        *minor = -1;
#ifdef LLM_WITH_CUDA
        const cudaDeviceProp* p = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(idx));
        std::snprintf(name, static_cast<size_t>(cap), "%s", p->name);
        *total_memory = static_cast<int64_t>(p->totalGlobalMem);
        *major = p->major;
        *minor = p->minor;
#else
        (void)idx;
        (void)cap;
#endif
    })
}
