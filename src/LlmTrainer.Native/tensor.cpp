// Tensor lifetime, creation, metadata and copies to and from host memory.
#include "llm.h"

#include <cstring>

namespace llm {
std::atomic<int64_t> live_tensors{0};
static thread_local std::string last_error;
void set_error(const std::string& message) { last_error = message; }
}  // namespace llm

using llm::wrap;

LLM_API const char* llm_last_error() noexcept { return llm::last_error.c_str(); }

LLM_API int64_t llm_live_tensors() noexcept { return llm::live_tensors.load(); }

LLM_API void llm_tensor_free(llm_tensor t) noexcept {
    if (t == nullptr) return;
    delete t;
    llm::live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

// ---- creation ---------------------------------------------------------------------------------

LLM_API int32_t llm_empty(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t dev, int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::empty(at::IntArrayRef(shape, ndim), llm::options(dtype, dev, idx))))
}

LLM_API int32_t llm_zeros(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t dev, int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::zeros(at::IntArrayRef(shape, ndim), llm::options(dtype, dev, idx))))
}

LLM_API int32_t llm_ones(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t dev, int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::ones(at::IntArrayRef(shape, ndim), llm::options(dtype, dev, idx))))
}

LLM_API int32_t llm_full(const int64_t* shape, int32_t ndim, double f, int64_t i, int32_t is_int, int32_t dtype, int32_t dev,
                         int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::full(at::IntArrayRef(shape, ndim), llm::scalar(f, i, is_int), llm::options(dtype, dev, idx))))
}

LLM_API int32_t llm_arange(double start, double end, double step, int32_t dtype, int32_t dev, int32_t idx, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::arange(start, end, step, llm::options(dtype, dev, idx))))
}

LLM_API int32_t llm_like(int32_t kind, llm_tensor t, llm_tensor* out) {
    LLM_TRY(switch (kind) {
        case 0: *out = wrap(at::zeros_like(*t)); break;
        case 1: *out = wrap(at::ones_like(*t)); break;
        case 2: *out = wrap(at::empty_like(*t)); break;
        default: throw std::invalid_argument("llm_like: unknown kind");
    })
}

// Copies `nbytes` of host memory into a new CPU tensor of the given dtype and shape.
LLM_API int32_t llm_from_data(const void* data, int64_t nbytes, const int64_t* shape, int32_t ndim, int32_t dtype, llm_tensor* out) {
    LLM_TRY({
        at::Tensor t = at::empty(at::IntArrayRef(shape, ndim), at::TensorOptions().dtype(llm::scalar_type(dtype)));
        int64_t expected = t.numel() * static_cast<int64_t>(t.element_size());
        if (expected != nbytes)
            throw std::invalid_argument("from_data: " + std::to_string(nbytes) + " bytes given for a tensor of " +
                                        std::to_string(expected) + " bytes");
        if (nbytes > 0) std::memcpy(t.data_ptr(), data, static_cast<size_t>(nbytes));
        *out = wrap(std::move(t));
    })
}

// Copies a tensor (any device, any layout) into host memory as contiguous elements of its own dtype.
LLM_API int32_t llm_copy_to_host(llm_tensor t, void* dst, int64_t nbytes) {
    LLM_TRY({
        at::Tensor c = t->detach().to(at::kCPU).contiguous();
        int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
        if (have != nbytes)
            throw std::invalid_argument("copy_to_host: tensor has " + std::to_string(have) + " bytes, buffer " +
                                        std::to_string(nbytes));
        if (nbytes > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
    })
}

// Copies host memory into an existing contiguous tensor (any device) without allocating a new handle.
LLM_API int32_t llm_copy_from_host(llm_tensor t, const void* src, int64_t nbytes) {
    LLM_TRY({
        int64_t need = t->numel() * static_cast<int64_t>(t->element_size());
        if (need != nbytes)
            throw std::invalid_argument("copy_from_host: tensor has " + std::to_string(need) + " bytes, buffer " +
                                        std::to_string(nbytes));
        at::Tensor host = at::from_blob(const_cast<void*>(src), t->sizes(), at::TensorOptions().dtype(t->scalar_type()));
        at::NoGradGuard guard;
        t->copy_(host);
    })
}

LLM_API int32_t llm_item(llm_tensor t, double* f, int64_t* i) {
    LLM_TRY({
        at::Scalar s = t->item();
        if (s.isIntegral(true)) {
            *i = s.toLong();
            *f = static_cast<double>(*i);
        } else {
            *f = s.toDouble();
            *i = static_cast<int64_t>(*f);
        }
    })
}

// ---- metadata ---------------------------------------------------------------------------------

LLM_API int32_t llm_dim(llm_tensor t) noexcept { return static_cast<int32_t>(t->dim()); }

LLM_API void llm_shape(llm_tensor t, int64_t* out) noexcept {
    auto s = t->sizes();
    for (size_t k = 0; k < s.size(); k++) out[k] = s[k];
}

LLM_API void llm_strides(llm_tensor t, int64_t* out) noexcept {
    auto s = t->strides();
    for (size_t k = 0; k < s.size(); k++) out[k] = s[k];
}

LLM_API int64_t llm_numel(llm_tensor t) noexcept { return t->numel(); }

LLM_API int32_t llm_dtype(llm_tensor t) noexcept { return static_cast<int32_t>(t->scalar_type()); }

LLM_API void llm_device(llm_tensor t, int32_t* type, int32_t* index) noexcept {
    at::Device d = t->device();
    *type = static_cast<int32_t>(d.type());
    *index = d.has_index() ? d.index() : -1;
}

LLM_API int32_t llm_is_contiguous(llm_tensor t) noexcept { return t->is_contiguous() ? 1 : 0; }

// Page-locked host memory exists only with CUDA present: a CPU-only libtorch (or a machine without a GPU) has no
// pinned-memory allocator, so nothing there is pinned and pin_memory is an error.
LLM_API int32_t llm_is_pinned(llm_tensor t, int32_t* pinned) {
    LLM_TRY(*pinned = t->is_cpu() && at::globalContext().hasCUDA() && t->is_pinned() ? 1 : 0)
}

LLM_API int32_t llm_pin_memory(llm_tensor t, llm_tensor* out) {
    LLM_TRY({
        if (!at::globalContext().hasCUDA()) throw std::invalid_argument("pin_memory needs CUDA, and this libtorch or machine has none");
        *out = wrap(t->pin_memory());
    })
}

// A second owning handle to the same tensor (same storage, same autograd identity).
LLM_API int32_t llm_tensor_alias(llm_tensor t, llm_tensor* out) { LLM_TRY(*out = wrap(*t)) }

LLM_API int32_t llm_to(llm_tensor t, int32_t dtype, int32_t dev, int32_t idx, int32_t non_blocking, int32_t copy,
                       llm_tensor* out) {
    LLM_TRY({
        at::TensorOptions o = at::TensorOptions();
        if (dtype >= 0) o = o.dtype(llm::scalar_type(dtype));
        if (dev >= 0) o = o.device(llm::device(dev, idx));
        *out = wrap(t->to(o, non_blocking != 0, copy != 0));
    })
}

// Replaces the data of `t` in place (keeping its identity as a parameter); used by Module.to().
LLM_API int32_t llm_set_data(llm_tensor t, llm_tensor data) { LLM_TRY(t->set_data(*data)) }

LLM_API int32_t llm_tensor_to_string(llm_tensor t, char* buf, int32_t cap) {
    LLM_TRY({
        std::ostringstream ss;
        ss << *t;
        std::string s = ss.str();
        std::snprintf(buf, static_cast<size_t>(cap), "%s", s.c_str());
    })
}
