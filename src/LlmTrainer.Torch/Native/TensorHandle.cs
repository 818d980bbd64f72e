using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>An owning handle to a native <c>at::Tensor*</c>; the marshaller's ref-count keeps it alive during a call.</summary>
internal sealed class TensorHandle : SafeHandle
{
    /// <summary>Passed where the native side accepts "no tensor" (an optional argument).</summary>
    public static readonly TensorHandle Null = new();

    public TensorHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.llm_tensor_free(handle);
        return true;
    }
}
