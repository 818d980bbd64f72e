// A caching CPU allocator: large blocks freed by one training step are handed to the next step's tensors of the same
// size instead of going back to the kernel. LLMTRAIN_CPU_CACHE=0 turns the caching off (blocks then go straight back).
//
// glibc serves blocks over 32 MiB with mmap and returns them with munmap, so every step's logits, their gradient and
// the big activations come back as fresh pages: one page fault and one page of zeroing per 4 KiB touched, about a
// tenth of a CPU training step for the 15m config. Sizes repeat exactly from step to step, so a free list per size
// removes all of it (the CUDA caching allocator does the same on the GPU). Blocks under 1 MiB are not cached. The
// cache holds at most a quarter of the physical memory; llm_cpu_empty_cache releases it.
//
// It also counts the bytes that CPU tensors hold (current and peak), like torch.cuda.memory_allocated does on the GPU.
// The Allocator interface differs between libtorch 1.x and 2.3+ (allocate lost its const, copy_data appeared).
#include "llm.h"

#include <c10/core/CPUAllocator.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

// Every block carries its size in a header of one alignment unit in front of the data, so the deleter (which only
// receives the data pointer) knows where it goes, and data == context as libtorch's raw_allocate expects.
constexpr size_t kHeader = 64;
constexpr size_t kMinCached = size_t{1} << 20;

// Read before the allocator is installed (below, same translation unit, so initialised first).
const bool caching = [] {
    const char* env = std::getenv("LLMTRAIN_CPU_CACHE");
    return env == nullptr || std::string(env) != "0";
}();

std::atomic<int64_t> allocated_bytes{0};
std::atomic<int64_t> peak_bytes{0};

void count_allocation(size_t n) {
    int64_t now = allocated_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) + static_cast<int64_t>(n);
    int64_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
}

struct Cache {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by size, header pointers
    size_t cached_bytes = 0;
    size_t limit = 0;
};

Cache& cache() {
    static Cache* c = [] {
        auto* created = new Cache();  // never destroyed: tensors may be freed during process exit
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        created->limit = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : size_t{1} << 30;
        return created;
    }();
    return *c;
}

void* allocate_block(size_t n) {
    void* header = nullptr;
    if (posix_memalign(&header, kHeader, n + kHeader) != 0 || header == nullptr)
        TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU allocator: not enough memory: you tried to allocate ", n, " bytes.");
    *static_cast<size_t*>(header) = n;
    return header;
}

void release(void* data) {
    if (data == nullptr) return;
    void* header = static_cast<char*>(data) - kHeader;
    const size_t size = *static_cast<size_t*>(header);
    allocated_bytes.fetch_sub(static_cast<int64_t>(size), std::memory_order_relaxed);
    if (caching && size >= kMinCached) {
        Cache& c = cache();
        std::lock_guard<std::mutex> lock(c.mutex);
        if (c.cached_bytes + size <= c.limit) {
            c.free_blocks[size].push_back(header);
            c.cached_bytes += size;
            return;
        }
    }
    std::free(header);
}

#if LLM_TORCH_VERSION >= 203
#define LLM_ALLOCATE_CONST
#else
#define LLM_ALLOCATE_CONST const
#endif

// LLMTRAIN_CPU_MEMORY_LIMIT=BYTES: CPU tensors may hold at most that much at once, like a GPU's memory; an allocation
// past it fails as out of memory. For running several jobs on one machine, and for testing what a run does then.
const int64_t memory_limit = [] {
    const char* env = std::getenv("LLMTRAIN_CPU_MEMORY_LIMIT");
    return env != nullptr ? std::strtoll(env, nullptr, 10) : 0;
}();

struct CachingCpuAllocator final : at::Allocator {
    at::DataPtr allocate(size_t n) LLM_ALLOCATE_CONST override {
        if (memory_limit > 0 && allocated_bytes.load(std::memory_order_relaxed) + static_cast<int64_t>(n) > memory_limit)
            TORCH_CHECK_WITH(OutOfMemoryError, false, "CPU allocator: not enough memory: you tried to allocate ", n, " bytes, and ",
                             allocated_bytes.load(std::memory_order_relaxed), " of the LLMTRAIN_CPU_MEMORY_LIMIT of ", memory_limit,
                             " bytes are in use.");
        void* header = nullptr;
        if (caching && n >= kMinCached) {
            Cache& c = cache();
            std::lock_guard<std::mutex> lock(c.mutex);
            auto it = c.free_blocks.find(n);
            if (it != c.free_blocks.end() && !it->second.empty()) {
                header = it->second.back();
                it->second.pop_back();
                c.cached_bytes -= n;
            }
        }
        if (header == nullptr) header = allocate_block(n);
        count_allocation(n);
        void* data = static_cast<char*>(header) + kHeader;
        return {data, data, &release, at::Device(at::DeviceType::CPU)};
    }

    at::DeleterFnPtr raw_deleter() const override { return &release; }

#if LLM_TORCH_VERSION >= 203
    void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

CachingCpuAllocator caching_allocator;

// Installed when the shim is loaded, before any tensor of ours exists. Tensors allocated earlier keep their own
// deleter, so nothing is freed by the wrong allocator.
const bool installed = [] {
    c10::SetCPUAllocator(&caching_allocator, 1);
    return true;
}();

}  // namespace

bool llm::cpu_cache_installed() { return installed && caching; }

LLM_API void llm_cpu_empty_cache() noexcept {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto& entry : c.free_blocks)
        for (void* header : entry.second) std::free(header);
    c.free_blocks.clear();
    c.cached_bytes = 0;
}

LLM_API int64_t llm_cpu_cached_bytes() noexcept {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return static_cast<int64_t>(c.cached_bytes);
}

LLM_API int64_t llm_cpu_memory_allocated() noexcept { return allocated_bytes.load(std::memory_order_relaxed); }

LLM_API int64_t llm_cpu_max_memory_allocated() noexcept { return peak_bytes.load(std::memory_order_relaxed); }

// The peak starts again from what is allocated now.
LLM_API void llm_cpu_reset_peak_memory_stats() noexcept { peak_bytes.store(allocated_bytes.load(std::memory_order_relaxed), std::memory_order_relaxed); }
