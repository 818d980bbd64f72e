// Element-wise maths, reductions and shape operations. Families of similar ops share one entry point
// with an op code (the codes are mirrored in the C# binding's NativeOps enums).
#include "llm.h"

using llm::wrap;

namespace {

enum Unary : int32_t {
    U_NEG, U_SQRT, U_RSQRT, U_EXP, U_LOG, U_TANH, U_SIGMOID, U_SILU, U_GELU, U_RELU, U_ABS, U_ISFINITE, U_ISNAN,
    U_LOGICAL_NOT, U_CONTIGUOUS, U_DETACH, U_CLONE, U_SIN, U_COS, U_SQUARE, U_RECIPROCAL, U_FLOOR, U_CEIL, U_ROUND,
    U_SIGN, U_GELU_TANH, U_LOG1P, U_EXPM1,
};

at::Tensor unary(int32_t op, const at::Tensor& a) {
    switch (op) {
        case U_NEG: return a.neg();
        case U_SQRT: return a.sqrt();
        case U_RSQRT: return a.rsqrt();
        case U_EXP: return a.exp();
        case U_LOG: return a.log();
        case U_TANH: return a.tanh();
        case U_SIGMOID: return a.sigmoid();
        case U_SILU: return at::silu(a);
        case U_GELU: return at::gelu(a);
        case U_RELU: return a.relu();
        case U_ABS: return a.abs();
        case U_ISFINITE: return a.isfinite();
        case U_ISNAN: return a.isnan();
        case U_LOGICAL_NOT: return a.logical_not();
        case U_CONTIGUOUS: return a.contiguous();
        case U_DETACH: return a.detach();
        case U_CLONE: return a.clone();
        case U_SIN: return a.sin();
        case U_COS: return a.cos();
        case U_SQUARE: return a.square();
        case U_RECIPROCAL: return a.reciprocal();
        case U_FLOOR: return a.floor();
        case U_CEIL: return a.ceil();
        case U_ROUND: return a.round();
        case U_SIGN: return a.sign();
        case U_GELU_TANH: return at::gelu(a, "tanh");
        case U_LOG1P: return a.log1p();
        case U_EXPM1: return a.expm1();
        default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
    }
}

enum UnaryInplace : int32_t { UI_ZERO, UI_NEG, UI_SQRT, UI_EXP, UI_DETACH, UI_SILU, UI_RELU };

enum Binary : int32_t {
    B_ADD, B_SUB, B_MUL, B_DIV, B_MATMUL, B_BMM, B_POW, B_MAXIMUM, B_MINIMUM, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE,
    B_LOGICAL_AND, B_LOGICAL_OR, B_REMAINDER, B_FLOOR_DIVIDE, B_MM, B_OUTER,
};

at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b) {
    switch (op) {
        case B_ADD: return a.add(b);
        case B_SUB: return a.sub(b);
        case B_MUL: return a.mul(b);
        case B_DIV: return a.div(b);
        case B_MATMUL: return a.matmul(b);
        case B_BMM: return a.bmm(b);
        case B_POW: return a.pow(b);
        case B_MAXIMUM: return at::maximum(a, b);
        case B_MINIMUM: return at::minimum(a, b);
        case B_EQ: return a.eq(b);
        case B_NE: return a.ne(b);
        case B_LT: return a.lt(b);
        case B_LE: return a.le(b);
        case B_GT: return a.gt(b);
        case B_GE: return a.ge(b);
        case B_LOGICAL_AND: return a.logical_and(b);
        case B_LOGICAL_OR: return a.logical_or(b);
        case B_REMAINDER: return a.remainder(b);
        case B_FLOOR_DIVIDE: return a.div(b, "floor");
        case B_MM: return a.mm(b);
        case B_OUTER: return at::outer(a, b);
        default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
    }
}

enum BinaryScalar : int32_t { S_ADD, S_SUB, S_MUL, S_DIV, S_POW, S_RSUB, S_EQ, S_NE, S_LT, S_LE, S_GT, S_GE, S_RDIV, S_RPOW, S_REMAINDER, S_FLOOR_DIVIDE };

at::Tensor binary_scalar(int32_t op, const at::Tensor& a, const at::Scalar& s) {
    switch (op) {
        case S_ADD: return a.add(s);
        case S_SUB: return a.sub(s);
        case S_MUL: return a.mul(s);
        case S_DIV: return a.div(s);
        case S_POW: return a.pow(s);
        case S_RSUB: return at::rsub(a, s);
        case S_EQ: return a.eq(s);
        case S_NE: return a.ne(s);
        case S_LT: return a.lt(s);
        case S_LE: return a.le(s);
        case S_GT: return a.gt(s);
        case S_GE: return a.ge(s);
        case S_RDIV: return a.reciprocal().mul(s);
        case S_RPOW: return at::pow(s, a);
        case S_REMAINDER: return a.remainder(s);
        case S_FLOOR_DIVIDE: return a.div(s, "floor");
        default: throw std::invalid_argument("unknown scalar op " + std::to_string(op));
    }
}

enum Reduce : int32_t { R_SUM, R_MEAN, R_AMAX, R_AMIN, R_ARGMAX, R_ARGMIN, R_ALL, R_ANY, R_PROD, R_LOGSUMEXP, R_VAR, R_STD, R_NORM };

}  // namespace

LLM_API int32_t llm_unary(int32_t op, llm_tensor a, llm_tensor* out) { LLM_TRY(*out = wrap(unary(op, *a))) }

LLM_API int32_t llm_unary_(int32_t op, llm_tensor a) {
    LLM_TRY(switch (op) {
        case UI_ZERO: a->zero_(); break;
        case UI_NEG: a->neg_(); break;
        case UI_SQRT: a->sqrt_(); break;
        case UI_EXP: a->exp_(); break;
        case UI_DETACH: a->detach_(); break;
        case UI_SILU: at::silu_(*a); break;
        case UI_RELU: a->relu_(); break;
        default: throw std::invalid_argument("unknown in-place unary op " + std::to_string(op));
    })
}

LLM_API int32_t llm_binary(int32_t op, llm_tensor a, llm_tensor b, llm_tensor* out) { LLM_TRY(*out = wrap(binary(op, *a, *b))) }

LLM_API int32_t llm_binary_scalar(int32_t op, llm_tensor a, double f, int64_t i, int32_t is_int, llm_tensor* out) {
    LLM_TRY(*out = wrap(binary_scalar(op, *a, llm::scalar(f, i, is_int))))
}

// a + alpha * b, a - alpha * b (PyTorch's `alpha=` form).
LLM_API int32_t llm_add_scaled(llm_tensor a, llm_tensor b, double alpha, int32_t subtract, llm_tensor* out) {
    LLM_TRY(*out = wrap(subtract ? a->sub(*b, alpha) : a->add(*b, alpha)))
}

// In-place a (op)= alpha*b: 0 add_, 1 sub_, 2 mul_, 3 div_, 4 copy_, 5 lerp_(b, alpha).
LLM_API int32_t llm_binary_(int32_t op, llm_tensor a, llm_tensor b, double alpha) {
    LLM_TRY(switch (op) {
        case 0: a->add_(*b, alpha); break;
        case 1: a->sub_(*b, alpha); break;
        case 2: a->mul_(*b); break;
        case 3: a->div_(*b); break;
        case 4: a->copy_(*b); break;
        case 5: a->lerp_(*b, alpha); break;
        default: throw std::invalid_argument("unknown in-place binary op " + std::to_string(op));
    })
}

// In-place with a scalar: 0 add_, 1 sub_, 2 mul_, 3 div_, 4 fill_, 5 pow_, 6 clamp_max_, 7 clamp_min_.
LLM_API int32_t llm_scalar_(int32_t op, llm_tensor a, double f, int64_t i, int32_t is_int) {
    LLM_TRY({
        at::Scalar s = llm::scalar(f, i, is_int);
        switch (op) {
            case 0: a->add_(s); break;
            case 1: a->sub_(s); break;
            case 2: a->mul_(s); break;
            case 3: a->div_(s); break;
            case 4: a->fill_(s); break;
            case 5: a->pow_(s); break;
            case 6: a->clamp_max_(s); break;
            case 7: a->clamp_min_(s); break;
            default: throw std::invalid_argument("unknown in-place scalar op " + std::to_string(op));
        }
    })
}

LLM_API int32_t llm_reduce(int32_t op, llm_tensor a, const int64_t* dims, int32_t ndims, int32_t keepdim, int32_t dtype,
                           llm_tensor* out) {
    LLM_TRY({
        const at::Tensor& t = *a;
        bool all = ndims < 0;  // reduce over every dimension
        at::IntArrayRef d(dims, ndims < 0 ? 0 : ndims);
        bool k = keepdim != 0;
        c10::optional<at::ScalarType> dt = dtype >= 0 ? c10::optional<at::ScalarType>(llm::scalar_type(dtype)) : c10::nullopt;
        at::Tensor r;
        switch (op) {
            case R_SUM: r = all ? t.sum(dt) : t.sum(d, k, dt); break;
            case R_MEAN: r = all ? t.mean(dt) : t.mean(d, k, dt); break;
            case R_AMAX: r = all ? t.max() : t.amax(d, k); break;
            case R_AMIN: r = all ? t.min() : t.amin(d, k); break;
            case R_ARGMAX: r = all ? t.argmax() : t.argmax(d[0], k); break;
            case R_ARGMIN: r = all ? t.argmin() : t.argmin(d[0], k); break;
            case R_ALL: r = all ? t.all() : t.all(d[0], k); break;
            case R_ANY: r = all ? t.any() : t.any(d[0], k); break;
            case R_PROD: r = all ? t.prod(dt) : t.prod(d[0], k, dt); break;
            case R_LOGSUMEXP: r = at::logsumexp(t, all ? at::IntArrayRef() : d, k); break;
            case R_VAR: r = all ? t.var() : t.var(d, true, k); break;
            case R_STD: r = all ? t.std() : t.std(d, true, k); break;
            case R_NORM: r = all ? at::norm(t) : at::norm(t, 2, d, k); break;
            default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
        }
        *out = wrap(std::move(r));
    })
}

LLM_API int32_t llm_max_dim(llm_tensor a, int64_t dim, int32_t keepdim, int32_t is_min, llm_tensor* values, llm_tensor* indices) {
    LLM_TRY({
        auto r = is_min ? a->min(dim, keepdim != 0) : a->max(dim, keepdim != 0);
        *values = wrap(std::get<0>(r));
        *indices = wrap(std::get<1>(r));
    })
}

LLM_API int32_t llm_topk(llm_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted, llm_tensor* values,
                         llm_tensor* indices) {
    LLM_TRY({
        auto r = a->topk(k, dim, largest != 0, sorted != 0);
        *values = wrap(std::get<0>(r));
        *indices = wrap(std::get<1>(r));
    })
}

LLM_API int32_t llm_sort(llm_tensor a, int64_t dim, int32_t descending, int32_t stable, llm_tensor* values, llm_tensor* indices) {
    LLM_TRY({
        auto r = a->sort(stable != 0, dim, descending != 0);
        *values = wrap(std::get<0>(r));
        *indices = wrap(std::get<1>(r));
    })
}

LLM_API int32_t llm_cumsum(llm_tensor a, int64_t dim, llm_tensor* out) { LLM_TRY(*out = wrap(a->cumsum(dim))) }

LLM_API int32_t llm_softmax(llm_tensor a, int64_t dim, int32_t log, int32_t dtype, llm_tensor* out) {
    LLM_TRY({
        c10::optional<at::ScalarType> dt = dtype >= 0 ? c10::optional<at::ScalarType>(llm::scalar_type(dtype)) : c10::nullopt;
        *out = wrap(log ? a->log_softmax(dim, dt) : a->softmax(dim, dt));
    })
}

LLM_API int32_t llm_where(llm_tensor cond, llm_tensor a, llm_tensor b, llm_tensor* out) { LLM_TRY(*out = wrap(at::where(*cond, *a, *b))) }

LLM_API int32_t llm_masked_fill(llm_tensor a, llm_tensor mask, double f, int64_t i, int32_t is_int, int32_t inplace, llm_tensor* out) {
    LLM_TRY({
        if (inplace) {
            a->masked_fill_(*mask, llm::scalar(f, i, is_int));
            *out = nullptr;
        } else {
            *out = wrap(a->masked_fill(*mask, llm::scalar(f, i, is_int)));
        }
    })
}

LLM_API int32_t llm_tri(llm_tensor a, int64_t diagonal, int32_t upper, llm_tensor* out) {
    LLM_TRY(*out = wrap(upper ? a->triu(diagonal) : a->tril(diagonal)))
}

// clamp with optional bounds: has_min/has_max select which of lo/hi apply.
LLM_API int32_t llm_clamp(llm_tensor a, int32_t has_min, double lo, int32_t has_max, double hi, llm_tensor* out) {
    LLM_TRY({
        c10::optional<at::Scalar> mn = has_min ? c10::optional<at::Scalar>(lo) : c10::nullopt;
        c10::optional<at::Scalar> mx = has_max ? c10::optional<at::Scalar>(hi) : c10::nullopt;
        *out = wrap(a->clamp(mn, mx));
    })
}

// addcmul/addcdiv: a + value * b * c, a + value * b / c.
LLM_API int32_t llm_addc(llm_tensor a, llm_tensor b, llm_tensor c, double value, int32_t div, llm_tensor* out) {
    LLM_TRY(*out = wrap(div ? a->addcdiv(*b, *c, value) : a->addcmul(*b, *c, value)))
}

// ---- shape ------------------------------------------------------------------------------------

LLM_API int32_t llm_view(llm_tensor a, const int64_t* shape, int32_t ndim, int32_t reshape, llm_tensor* out) {
    LLM_TRY(*out = wrap(reshape ? a->reshape(at::IntArrayRef(shape, ndim)) : a->view(at::IntArrayRef(shape, ndim))))
}

LLM_API int32_t llm_expand(llm_tensor a, const int64_t* shape, int32_t ndim, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->expand(at::IntArrayRef(shape, ndim))))
}

LLM_API int32_t llm_permute(llm_tensor a, const int64_t* dims, int32_t ndim, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->permute(at::IntArrayRef(dims, ndim))))
}

LLM_API int32_t llm_transpose(llm_tensor a, int64_t d0, int64_t d1, llm_tensor* out) { LLM_TRY(*out = wrap(a->transpose(d0, d1))) }

LLM_API int32_t llm_narrow(llm_tensor a, int64_t dim, int64_t start, int64_t length, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->narrow(dim, start, length)))
}

LLM_API int32_t llm_slice(llm_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->slice(dim, start, end, step)))
}

LLM_API int32_t llm_select(llm_tensor a, int64_t dim, int64_t index, llm_tensor* out) { LLM_TRY(*out = wrap(a->select(dim, index))) }

LLM_API int32_t llm_index_select(llm_tensor a, int64_t dim, llm_tensor index, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->index_select(dim, *index)))
}

LLM_API int32_t llm_gather(llm_tensor a, int64_t dim, llm_tensor index, llm_tensor* out) { LLM_TRY(*out = wrap(a->gather(dim, *index))) }

LLM_API int32_t llm_scatter(llm_tensor a, int64_t dim, llm_tensor index, llm_tensor src, int32_t inplace, llm_tensor* out) {
    LLM_TRY({
        if (inplace) {
            a->scatter_(dim, *index, *src);
            *out = nullptr;
        } else {
            *out = wrap(a->scatter(dim, *index, *src));
        }
    })
}

// index_add: a with alpha · src[i] added at a[index[i]] along dim (into a itself when inplace). Repeated indices
// accumulate: the scatter-add that brings a mixture of experts' outputs back to their tokens.
LLM_API int32_t llm_index_add(llm_tensor a, int64_t dim, llm_tensor index, llm_tensor src, double alpha, int32_t inplace,
                              llm_tensor* out) {
    LLM_TRY({
        if (inplace) {
            a->index_add_(dim, *index, *src, alpha);
            *out = nullptr;
        } else {
            *out = wrap(a->index_add(dim, *index, *src, alpha));
        }
    })
}

// Occurrences of each value 0..max(a, minlength - 1) in a 1-d int64 tensor, optionally weighted.
LLM_API int32_t llm_bincount(llm_tensor a, llm_tensor weights, int64_t minlength, llm_tensor* out) {
    LLM_TRY(*out = wrap(at::bincount(*a, llm::optional_tensor(weights), minlength)))
}

// index_copy_/index_put along the first dimension, used by KV caches: a[dim, index] = src.
LLM_API int32_t llm_index_copy_(llm_tensor a, int64_t dim, llm_tensor index, llm_tensor src) { LLM_TRY(a->index_copy_(dim, *index, *src)) }

LLM_API int32_t llm_cat(const llm_tensor* ts, int32_t n, int64_t dim, int32_t stack, llm_tensor* out) {
    LLM_TRY({
        auto v = llm::tensor_list(ts, n);
        *out = wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
    })
}

// split into pieces of `size` (chunks == 0) or into `size` chunks (chunks != 0); writes up to cap handles.
LLM_API int32_t llm_split(llm_tensor a, int64_t size, int64_t dim, int32_t chunks, llm_tensor* outs, int32_t cap, int32_t* n) {
    LLM_TRY({
        auto parts = chunks ? a->chunk(size, dim) : a->split(size, dim);
        if (static_cast<int32_t>(parts.size()) > cap) throw std::invalid_argument("split: more pieces than expected");
        for (size_t k = 0; k < parts.size(); k++) outs[k] = wrap(parts[k]);
        *n = static_cast<int32_t>(parts.size());
    })
}

LLM_API int32_t llm_unsqueeze(llm_tensor a, int64_t dim, llm_tensor* out) { LLM_TRY(*out = wrap(a->unsqueeze(dim))) }

LLM_API int32_t llm_squeeze(llm_tensor a, int64_t dim, int32_t all, llm_tensor* out) {
    LLM_TRY(*out = wrap(all ? a->squeeze() : a->squeeze(dim)))
}

LLM_API int32_t llm_flatten(llm_tensor a, int64_t start, int64_t end, llm_tensor* out) { LLM_TRY(*out = wrap(a->flatten(start, end))) }

LLM_API int32_t llm_repeat_interleave(llm_tensor a, int64_t repeats, int64_t dim, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->repeat_interleave(repeats, dim)))
}

LLM_API int32_t llm_repeat(llm_tensor a, const int64_t* repeats, int32_t n, llm_tensor* out) {
    LLM_TRY(*out = wrap(a->repeat(at::IntArrayRef(repeats, n))))
}

LLM_API int32_t llm_allclose(llm_tensor a, llm_tensor b, double rtol, double atol, int32_t* result) {
    LLM_TRY(*result = at::allclose(*a, *b, rtol, atol) ? 1 : 0)
}

LLM_API int32_t llm_equal(llm_tensor a, llm_tensor b, int32_t* result) { LLM_TRY(*result = at::equal(*a, *b) ? 1 : 0) }
