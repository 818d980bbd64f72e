namespace LlmTrainer.Torch.Native;

// Op codes of the shim's dispatching entry points (ops.cpp); the order must match the C++ enums.

internal enum UnaryOp
{
    Neg, Sqrt, Rsqrt, Exp, Log, Tanh, Sigmoid, Silu, Gelu, Relu, Abs, IsFinite, IsNan, LogicalNot, Contiguous, Detach, Clone,
    Sin, Cos, Square, Reciprocal, Floor, Ceil, Round, Sign, GeluTanh, Log1p, Expm1,
}

internal enum UnaryInplaceOp { Zero, Neg, Sqrt, Exp, Detach, Silu, Relu }

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Matmul, Bmm, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, Remainder, FloorDivide,
    Mm, Outer,
}

internal enum ScalarOp { Add, Sub, Mul, Div, Pow, RSub, Eq, Ne, Lt, Le, Gt, Ge, RDiv, RPow, Remainder, FloorDivide }

internal enum BinaryInplaceOp { Add, Sub, Mul, Div, Copy, Lerp }

internal enum ScalarInplaceOp { Add, Sub, Mul, Div, Fill, Pow, ClampMax, ClampMin }

internal enum ReduceOp { Sum, Mean, Amax, Amin, Argmax, Argmin, All, Any, Prod, LogSumExp, Var, Std, Norm }
