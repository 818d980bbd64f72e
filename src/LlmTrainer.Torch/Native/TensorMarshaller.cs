using System.Runtime.InteropServices.Marshalling;

namespace LlmTrainer.Torch.Native;

/// <summary>
/// Passes a <see cref="Tensor"/> (or null) to native code as its raw handle, and keeps the tensor reachable until the
/// call returns, so that a finalizer cannot free the handle while libtorch still uses it.
/// </summary>
[CustomMarshaller(typeof(Tensor), MarshalMode.ManagedToUnmanagedIn, typeof(ManagedToUnmanagedIn))]
internal static class TensorMarshaller
{
    public struct ManagedToUnmanagedIn
    {
        private Tensor? tensor;

        public void FromManaged(Tensor? managed) => tensor = managed;

        public readonly IntPtr ToUnmanaged() => tensor is null ? IntPtr.Zero : tensor.NativeHandle;

        public readonly void OnInvoked() => GC.KeepAlive(tensor);

        public readonly void Free() { }
    }
}
