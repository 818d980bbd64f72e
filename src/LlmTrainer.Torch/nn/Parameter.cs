using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>
/// A trainable tensor owned by a module: requires grad, belongs to no dispose scope, and keeps its identity
/// when the module moves it to another device (its data is replaced in place).
/// </summary>
public sealed class Parameter : Tensor
{
    /// <summary>Takes <paramref name="data"/> (disposing that handle) and makes it a leaf parameter.</summary>
    public Parameter(Tensor data, bool requires_grad = true) : base(DetachedHandle(data))
    {
        DetachFromDisposeScope();
        this.requires_grad = requires_grad;
    }

    private static IntPtr DetachedHandle(Tensor data)
    {
        Check(llm_unary((int)Native.UnaryOp.Detach, data, out var r));
        data.Dispose();
        return r;
    }
}
