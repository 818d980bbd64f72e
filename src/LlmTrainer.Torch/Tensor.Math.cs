using LlmTrainer.Torch.Native;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

// Element-wise maths, reductions and comparisons, named as in PyTorch.
public partial class Tensor
{
    private Tensor Unary(UnaryOp op)
    {
        Check(llm_unary((int)op, this, out var r));
        return New(r);
    }

    private Tensor Binary(BinaryOp op, Tensor other)
    {
        Check(llm_binary((int)op, this, other, out var r));
        return New(r);
    }

    private Tensor BinaryScalar(ScalarOp op, Scalar s)
    {
        Check(llm_binary_scalar((int)op, this, s.Float, s.Int, s.IsIntegral ? 1 : 0, out var r));
        return New(r);
    }

    private Tensor InplaceScalar(ScalarInplaceOp op, Scalar s)
    {
        Check(llm_scalar_((int)op, this, s.Float, s.Int, s.IsIntegral ? 1 : 0));
        return this;
    }

    private Tensor InplaceBinary(BinaryInplaceOp op, Tensor other, double alpha = 1)
    {
        Check(llm_binary_((int)op, this, other, alpha));
        return this;
    }

    private unsafe Tensor Reduce(ReduceOp op, long[]? dims, bool keepdim, ScalarType? dtype = null)
    {
        IntPtr r;
        fixed (long* d = dims)
            Check(llm_reduce((int)op, this, d, dims?.Length ?? -1, keepdim ? 1 : 0, dtype is null ? -1 : (int)dtype, out r));
        return New(r);
    }

    // ---- arithmetic ----

    public Tensor add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor add(Tensor other, double alpha) { Check(llm_add_scaled(this, other, alpha, 0, out var r)); return New(r); }
    public Tensor add(Scalar s) => BinaryScalar(ScalarOp.Add, s);
    public Tensor sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor sub(Tensor other, double alpha) { Check(llm_add_scaled(this, other, alpha, 1, out var r)); return New(r); }
    public Tensor sub(Scalar s) => BinaryScalar(ScalarOp.Sub, s);
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor mul(Scalar s) => BinaryScalar(ScalarOp.Mul, s);
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor div(Scalar s) => BinaryScalar(ScalarOp.Div, s);
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor pow(Scalar exponent) => BinaryScalar(ScalarOp.Pow, exponent);
    /// <summary>s ** this, element-wise; public as torch.pow(Scalar self, Tensor exponent).</summary>
    internal Tensor rpow(Scalar s) => BinaryScalar(ScalarOp.RPow, s);
    public Tensor remainder(Scalar s) => BinaryScalar(ScalarOp.Remainder, s);
    public Tensor floor_divide(Tensor other) => Binary(BinaryOp.FloorDivide, other);
    public Tensor floor_divide(Scalar s) => BinaryScalar(ScalarOp.FloorDivide, s);
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor matmul(Tensor other) => Binary(BinaryOp.Matmul, other);
    public Tensor mm(Tensor other) => Binary(BinaryOp.Mm, other);
    public Tensor bmm(Tensor other) => Binary(BinaryOp.Bmm, other);
    public Tensor outer(Tensor other) => Binary(BinaryOp.Outer, other);

    public Tensor addcmul(Tensor t1, Tensor t2, double value = 1) { Check(llm_addc(this, t1, t2, value, 0, out var r)); return New(r); }
    public Tensor addcdiv(Tensor t1, Tensor t2, double value = 1) { Check(llm_addc(this, t1, t2, value, 1, out var r)); return New(r); }

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
    public static Tensor operator +(Scalar a, Tensor b) => b.add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
    public static Tensor operator -(Scalar a, Tensor b) => b.BinaryScalar(ScalarOp.RSub, a);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
    public static Tensor operator *(Scalar a, Tensor b) => b.mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
    public static Tensor operator /(Scalar a, Tensor b) => b.BinaryScalar(ScalarOp.RDiv, a);
    public static Tensor operator -(Tensor a) => a.neg();

    // ---- unary ----

    public Tensor neg() => Unary(UnaryOp.Neg);
    public Tensor abs() => Unary(UnaryOp.Abs);
    public Tensor sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor square() => Unary(UnaryOp.Square);
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor exp() => Unary(UnaryOp.Exp);
    public Tensor expm1() => Unary(UnaryOp.Expm1);
    public Tensor log() => Unary(UnaryOp.Log);
    public Tensor log1p() => Unary(UnaryOp.Log1p);
    public Tensor sin() => Unary(UnaryOp.Sin);
    public Tensor cos() => Unary(UnaryOp.Cos);
    public Tensor tanh() => Unary(UnaryOp.Tanh);
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor relu() => Unary(UnaryOp.Relu);
    public Tensor silu() => Unary(UnaryOp.Silu);
    public Tensor gelu(bool tanhApproximation = false) => Unary(tanhApproximation ? UnaryOp.GeluTanh : UnaryOp.Gelu);
    public Tensor floor() => Unary(UnaryOp.Floor);
    public Tensor ceil() => Unary(UnaryOp.Ceil);
    public Tensor round() => Unary(UnaryOp.Round);
    public Tensor sign() => Unary(UnaryOp.Sign);
    public Tensor isfinite() => Unary(UnaryOp.IsFinite);
    public Tensor isnan() => Unary(UnaryOp.IsNan);
    public Tensor logical_not() => Unary(UnaryOp.LogicalNot);
    public Tensor logical_and(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor logical_or(Tensor other) => Binary(BinaryOp.LogicalOr, other);
    public Tensor contiguous() => Unary(UnaryOp.Contiguous);
    public Tensor detach() => Unary(UnaryOp.Detach);
    public Tensor clone() => Unary(UnaryOp.Clone);

    public Tensor clamp(double? min = null, double? max = null)
    {
        Check(llm_clamp(this, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0, out var r));
        return New(r);
    }

    public Tensor clamp_min(double min) => clamp(min: min);
    public Tensor clamp_max(double max) => clamp(max: max);

    // ---- comparisons ----

    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor eq(Scalar s) => BinaryScalar(ScalarOp.Eq, s);
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor ne(Scalar s) => BinaryScalar(ScalarOp.Ne, s);
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor lt(Scalar s) => BinaryScalar(ScalarOp.Lt, s);
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor le(Scalar s) => BinaryScalar(ScalarOp.Le, s);
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor gt(Scalar s) => BinaryScalar(ScalarOp.Gt, s);
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor ge(Scalar s) => BinaryScalar(ScalarOp.Ge, s);

    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8)
    {
        Check(llm_allclose(this, other, rtol, atol, out var r));
        return r != 0;
    }

    /// <summary>Same shape and same values (torch.equal).</summary>
    public bool equal(Tensor other)
    {
        Check(llm_equal(this, other, out var r));
        return r != 0;
    }

    // ---- in place ----

    public Tensor zero_() { Check(llm_unary_((int)UnaryInplaceOp.Zero, this)); return this; }
    public Tensor neg_() { Check(llm_unary_((int)UnaryInplaceOp.Neg, this)); return this; }
    public Tensor sqrt_() { Check(llm_unary_((int)UnaryInplaceOp.Sqrt, this)); return this; }
    public Tensor exp_() { Check(llm_unary_((int)UnaryInplaceOp.Exp, this)); return this; }
    public Tensor detach_() { Check(llm_unary_((int)UnaryInplaceOp.Detach, this)); return this; }
    public Tensor add_(Tensor other, double alpha = 1) => InplaceBinary(BinaryInplaceOp.Add, other, alpha);
    public Tensor sub_(Tensor other, double alpha = 1) => InplaceBinary(BinaryInplaceOp.Sub, other, alpha);
    public Tensor mul_(Tensor other) => InplaceBinary(BinaryInplaceOp.Mul, other);
    public Tensor div_(Tensor other) => InplaceBinary(BinaryInplaceOp.Div, other);
    public Tensor copy_(Tensor src) => InplaceBinary(BinaryInplaceOp.Copy, src);
    public Tensor lerp_(Tensor end, double weight) => InplaceBinary(BinaryInplaceOp.Lerp, end, weight);
    public Tensor add_(Scalar s) => InplaceScalar(ScalarInplaceOp.Add, s);
    public Tensor sub_(Scalar s) => InplaceScalar(ScalarInplaceOp.Sub, s);
    public Tensor mul_(Scalar s) => InplaceScalar(ScalarInplaceOp.Mul, s);
    public Tensor div_(Scalar s) => InplaceScalar(ScalarInplaceOp.Div, s);
    public Tensor pow_(Scalar s) => InplaceScalar(ScalarInplaceOp.Pow, s);
    public Tensor fill_(Scalar s) => InplaceScalar(ScalarInplaceOp.Fill, s);
    public Tensor clamp_max_(Scalar s) => InplaceScalar(ScalarInplaceOp.ClampMax, s);
    public Tensor clamp_min_(Scalar s) => InplaceScalar(ScalarInplaceOp.ClampMin, s);

    public Tensor masked_fill(Tensor mask, Scalar value)
    {
        Check(llm_masked_fill(this, mask, value.Float, value.Int, value.IsIntegral ? 1 : 0, 0, out var r));
        return New(r);
    }

    public Tensor masked_fill_(Tensor mask, Scalar value)
    {
        Check(llm_masked_fill(this, mask, value.Float, value.Int, value.IsIntegral ? 1 : 0, 1, out _));
        return this;
    }

    public Tensor normal_(double mean = 0, double std = 1, Generator? generator = null)
    {
        Check(llm_random_(0, this, mean, std, generator?.Ptr ?? IntPtr.Zero));
        return this;
    }

    public Tensor uniform_(double from = 0, double to = 1, Generator? generator = null)
    {
        Check(llm_random_(1, this, from, to, generator?.Ptr ?? IntPtr.Zero));
        return this;
    }

    // ---- reductions ----

    public Tensor sum(ScalarType? dtype = null) => Reduce(ReduceOp.Sum, null, false, dtype);
    public Tensor sum(long dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Sum, [dim], keepdim, dtype);
    // An int overload, so that sum(0) means dim 0: C# would otherwise convert the literal 0 to ScalarType? (a dtype).
    public Tensor sum(int dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Sum, [dim], keepdim, dtype);
    public Tensor sum(long[] dims, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Sum, dims, keepdim, dtype);
    public Tensor mean(ScalarType? dtype = null) => Reduce(ReduceOp.Mean, null, false, dtype);
    public Tensor mean(long dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Mean, [dim], keepdim, dtype);
    public Tensor mean(int dim, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Mean, [dim], keepdim, dtype);
    public Tensor mean(long[] dims, bool keepdim = false, ScalarType? dtype = null) => Reduce(ReduceOp.Mean, dims, keepdim, dtype);
    public Tensor max() => Reduce(ReduceOp.Amax, null, false);
    public Tensor min() => Reduce(ReduceOp.Amin, null, false);
    public Tensor amax(long dim, bool keepdim = false) => Reduce(ReduceOp.Amax, [dim], keepdim);
    public Tensor amin(long dim, bool keepdim = false) => Reduce(ReduceOp.Amin, [dim], keepdim);
    public Tensor argmax() => Reduce(ReduceOp.Argmax, null, false);
    public Tensor argmax(long dim, bool keepdim = false) => Reduce(ReduceOp.Argmax, [dim], keepdim);
    public Tensor argmin(long dim, bool keepdim = false) => Reduce(ReduceOp.Argmin, [dim], keepdim);
    public Tensor all() => Reduce(ReduceOp.All, null, false);
    public Tensor all(long dim, bool keepdim = false) => Reduce(ReduceOp.All, [dim], keepdim);
    public Tensor any() => Reduce(ReduceOp.Any, null, false);
    public Tensor any(long dim, bool keepdim = false) => Reduce(ReduceOp.Any, [dim], keepdim);
    public Tensor prod() => Reduce(ReduceOp.Prod, null, false);
    public Tensor logsumexp(long dim, bool keepdim = false) => Reduce(ReduceOp.LogSumExp, [dim], keepdim);
    public Tensor var() => Reduce(ReduceOp.Var, null, false);
    public Tensor std() => Reduce(ReduceOp.Std, null, false);
    public Tensor norm() => Reduce(ReduceOp.Norm, null, false);
    public Tensor norm(long dim, bool keepdim = false) => Reduce(ReduceOp.Norm, [dim], keepdim);

    /// <summary>Maximum along a dimension with its indices (torch.max(x, dim)).</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false)
    {
        Check(llm_max_dim(this, dim, keepdim ? 1 : 0, 0, out var v, out var i));
        return (New(v), New(i));
    }

    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false)
    {
        Check(llm_max_dim(this, dim, keepdim ? 1 : 0, 1, out var v, out var i));
        return (New(v), New(i));
    }

    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        Check(llm_topk(this, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i));
        return (New(v), New(i));
    }

    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false, bool stable = false)
    {
        Check(llm_sort(this, dim, descending ? 1 : 0, stable ? 1 : 0, out var v, out var i));
        return (New(v), New(i));
    }

    /// <summary>Counts of each value in a 1-d int64 tensor (at least <paramref name="minlength"/> bins), optionally weighted.</summary>
    public Tensor bincount(Tensor? weights = null, long minlength = 0)
    {
        Check(llm_bincount(this, weights, minlength, out var r));
        return New(r);
    }

    public Tensor cumsum(long dim) { Check(llm_cumsum(this, dim, out var r)); return New(r); }

    public Tensor softmax(long dim, ScalarType? dtype = null)
    {
        Check(llm_softmax(this, dim, 0, dtype is null ? -1 : (int)dtype, out var r));
        return New(r);
    }

    public Tensor log_softmax(long dim, ScalarType? dtype = null)
    {
        Check(llm_softmax(this, dim, 1, dtype is null ? -1 : (int)dtype, out var r));
        return New(r);
    }

    public Tensor triu(long diagonal = 0) { Check(llm_tri(this, diagonal, 1, out var r)); return New(r); }
    public Tensor tril(long diagonal = 0) { Check(llm_tri(this, diagonal, 0, out var r)); return New(r); }
}
