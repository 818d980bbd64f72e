// Random numbers: seeding, generator objects and their state (for exact resume), random tensors.
#include "llm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cstring>

using llm::wrap;

typedef at::Generator* llm_generator;

namespace {
c10::optional<at::Generator> gen(llm_generator g) {
    if (g == nullptr) return c10::nullopt;
    return *g;
}
}  // namespace

LLM_API int32_t llm_manual_seed(int64_t seed) { LLM_TRY(torch::manual_seed(static_cast<uint64_t>(seed))) }

// A new CPU generator seeded with `seed`.
LLM_API int32_t llm_generator_new(int64_t seed, llm_generator* out) {
    LLM_TRY(*out = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed))))
}

// A handle to the default generator of a device (shares state with it).
LLM_API int32_t llm_generator_default(int32_t dev, int32_t idx, llm_generator* out) {
    LLM_TRY({
        if (dev == static_cast<int32_t>(c10::DeviceType::CPU)) {
            *out = new at::Generator(at::detail::getDefaultCPUGenerator());
        } else {
            *out = new at::Generator(at::globalContext().defaultGenerator(llm::device(dev, idx)));
        }
    })
}

LLM_API void llm_generator_free(llm_generator g) noexcept { delete g; }

LLM_API int32_t llm_generator_seed(llm_generator g, int64_t seed) {
    LLM_TRY({
        std::lock_guard<std::mutex> lock(g->mutex());
        g->set_current_seed(static_cast<uint64_t>(seed));
    })
}

// The generator's full state as bytes; call with buf == nullptr to learn the size.
LLM_API int32_t llm_generator_get_state(llm_generator g, uint8_t* buf, int64_t cap, int64_t* size) {
    LLM_TRY({
        at::Tensor state;
        {
            std::lock_guard<std::mutex> lock(g->mutex());
            state = g->get_state();
        }
        *size = state.numel();
        if (buf != nullptr) {
            if (cap < state.numel()) throw std::invalid_argument("generator state buffer too small");
            std::memcpy(buf, state.data_ptr(), static_cast<size_t>(state.numel()));
        }
    })
}

LLM_API int32_t llm_generator_set_state(llm_generator g, const uint8_t* buf, int64_t size) {
    LLM_TRY({
        at::Tensor state = at::empty({size}, at::TensorOptions().dtype(at::kByte));
        std::memcpy(state.data_ptr(), buf, static_cast<size_t>(size));
        std::lock_guard<std::mutex> lock(g->mutex());
        g->set_state(state);
    })
}

// kind: 0 randn (normal 0,1), 1 rand (uniform [0,1)).
LLM_API int32_t llm_random(int32_t kind, const int64_t* shape, int32_t ndim, llm_generator g, int32_t dtype, int32_t dev,
                           int32_t idx, llm_tensor* out) {
    LLM_TRY({
        auto o = llm::options(dtype, dev, idx);
        at::IntArrayRef s(shape, ndim);
        *out = wrap(kind == 0 ? at::randn(s, gen(g), o) : at::rand(s, gen(g), o));
    })
}

LLM_API int32_t llm_randint(int64_t low, int64_t high, const int64_t* shape, int32_t ndim, llm_generator g, int32_t dtype,
                            int32_t dev, int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::randint(low, high, at::IntArrayRef(shape, ndim), gen(g), llm::options(dtype, dev, idx))))
}

// In-place fills: 0 normal_(a = mean, b = std), 1 uniform_(a = from, b = to).
LLM_API int32_t llm_random_(int32_t kind, llm_tensor t, double a, double b, llm_generator g) {
    LLM_TRY({
        at::NoGradGuard no_grad;
        if (kind == 0) t->normal_(a, b, gen(g));
        else t->uniform_(a, b, gen(g));
    })
}

LLM_API int32_t llm_multinomial(llm_tensor probs, int64_t n, int32_t replacement, llm_generator g, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::multinomial(*probs, n, replacement != 0, gen(g))))
}
