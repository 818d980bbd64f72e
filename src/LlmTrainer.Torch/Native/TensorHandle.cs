using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>An owning handle to a native <c>at::Tensor*</c>; the marshaller's ref-count keeps it alive during a call.</summary>
internal sealed class TensorHandle : SafeHandle
{
    /// <summary>Passed where the native side accepts "no tensor" (an optional argument).</summary>
    public static readonly TensorHandle Null = new();

    public TensorHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    private static long leaked;
    private bool disposedByOwner;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Handles released by the finalizer instead of by their owner: leaks.</summary>
    public static long LeakedCount => Interlocked.Read(ref leaked);

    /// <summary>The owner's release (Tensor.Dispose); anything else that releases the handle is the finalizer.</summary>
    public void DisposeByOwner()
    {
        disposedByOwner = true;
        Dispose();
    }

    protected override bool ReleaseHandle()
    {
        if (!disposedByOwner) Interlocked.Increment(ref leaked);
        NativeMethods.llm_tensor_free(handle);
        return true;
    }
}
