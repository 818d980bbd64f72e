using System.Runtime.InteropServices.Marshalling;
using System.Text;
using LlmTrainer.Torch.Native;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle; dispose it, or create it inside a <see cref="DisposeScope"/>
/// that disposes it. A tensor that no scope owns has a finalizer (a pooled <see cref="LeakGuard"/>): if it is
/// garbage-collected without being disposed, the finalizer frees the handle and <see cref="LeakedCount"/> counts it.
/// Tensors made inside a scope carry no finalizer at all, which keeps the per-op cost of a training step low.
/// </summary>
[NativeMarshalling(typeof(TensorMarshaller))]
public partial class Tensor : IDisposable
{
    private IntPtr handle;
    private LeakGuard? guard;
    private DisposeScope? scope;

    internal Tensor(IntPtr ptr)
    {
        handle = ptr;
        if (DisposeScope.Current is { } s) s.Add(this);
        else guard = LeakGuard.Arm(ptr);
    }

    /// <summary>Tensors that were garbage-collected without being disposed (a bug in their owner).</summary>
    public static long LeakedCount => LeakGuard.LeakedCount;

    /// <summary>Native tensor handles alive in the whole process.</summary>
    public static long LiveHandleCount => llm_live_tensors();

    /// <summary>The scope that will dispose this tensor, or null when its owner must (the leak guard watches then).</summary>
    internal DisposeScope? Scope
    {
        get => scope;
        set
        {
            scope = value;
            if (value is null && guard is null && handle != IntPtr.Zero) guard = LeakGuard.Arm(handle);
        }
    }

    public bool IsDisposed => handle == IntPtr.Zero;

    /// <summary>The native <c>at::Tensor*</c>; only for passing to native code while this tensor is kept reachable.</summary>
    internal IntPtr NativeHandle
    {
        get
        {
            if (handle == IntPtr.Zero) ThrowDisposed();
            return handle;
        }
    }

    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(Tensor), "the tensor has been disposed");

    /// <summary>Wraps a native result; a null pointer means "undefined" and gives null.</summary>
    internal static Tensor? Wrap(IntPtr ptr) => ptr == IntPtr.Zero ? null : new Tensor(ptr);

    /// <summary>Wraps a native result that must be defined.</summary>
    internal static Tensor New(IntPtr ptr) =>
        ptr == IntPtr.Zero ? throw new TorchException("libtorch returned an undefined tensor") : new Tensor(ptr);

    public void Dispose()
    {
        var h = handle;
        if (h == IntPtr.Zero) return;
        handle = IntPtr.Zero;
        guard?.Disarm();
        guard = null;
        llm_tensor_free(h);
    }

    /// <summary>Hands this tensor to the scope around the current one (or to nobody at the outermost level).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var outer = Scope?.Outer;
        Scope = null;
        outer?.Add(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller now owns it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        Scope = null;
        return this;
    }

    // ---- metadata ----

    public unsafe long[] shape
    {
        get
        {
            var dims = new long[llm_dim(this)];
            fixed (long* p = dims) llm_shape(this, p);
            return dims;
        }
    }

    public long size(int dim)
    {
        var s = shape;
        return s[dim < 0 ? dim + s.Length : dim];
    }

    public int dim() => llm_dim(this);

    public long numel() => llm_numel(this);

    public ScalarType dtype => (ScalarType)llm_dtype(this);

    public Device device
    {
        get
        {
            llm_device(this, out var type, out var index);
            return new Device((DeviceType)type, index);
        }
    }

    public bool is_contiguous() => llm_is_contiguous(this) != 0;

    /// <summary>Whether this is a CPU tensor in page-locked memory (always false without CUDA).</summary>
    public bool is_pinned()
    {
        Check(llm_is_pinned(this, out var pinned));
        return pinned != 0;
    }

    public long element_size() => dtype.ElementSize();

    // ---- conversion ----

    public Tensor to(ScalarType dtype, bool copy = false) => To((int)dtype, -1, -1, copy);

    public Tensor to(Device device, bool non_blocking = false) => To(-1, (int)device.Type, device.Index, false, non_blocking);

    public Tensor to(Device device, ScalarType dtype) => To((int)dtype, (int)device.Type, device.Index, false);

    public Tensor cpu() => to(Device.CPU);

    public Tensor cuda(int index = 0) => to(Device.CUDA(index));

    /// <summary>
    /// A copy in page-locked host memory, from which copies to the GPU with non_blocking run asynchronously.
    /// Needs CUDA: a CPU-only libtorch has no pinned memory, so guard the call with the device.
    /// </summary>
    public Tensor pin_memory()
    {
        Check(llm_pin_memory(this, out var r));
        return New(r);
    }

    private Tensor To(int dtype, int dev, int idx, bool copy, bool nonBlocking = false)
    {
        Check(llm_to(this, dtype, dev, idx, nonBlocking ? 1 : 0, copy ? 1 : 0, out var r));
        return New(r);
    }

    /// <summary>A second handle to the same tensor (shared storage and autograd identity), owned separately.</summary>
    public Tensor alias()
    {
        Check(llm_tensor_alias(this, out var r));
        return New(r);
    }

    /// <summary>Copies the elements (contiguous, in this tensor's dtype) into a new managed array.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>();
        var result = new T[numel()];
        fixed (T* p = result) Check(llm_copy_to_host(this, p, (long)result.Length * sizeof(T)));
        return result;
    }

    /// <summary>Copies the elements into <paramref name="destination"/>, which must have exactly numel() elements.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = destination) Check(llm_copy_to_host(this, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>Overwrites the elements (any device) from host memory; no new tensor is created.</summary>
    public unsafe void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = source) Check(llm_copy_from_host(this, p, (long)source.Length * sizeof(T)));
    }

    private unsafe void CheckElementType<T>() where T : unmanaged
    {
        if (sizeof(T) != dtype.ElementSize())
            throw new InvalidOperationException($"element type {typeof(T).Name} does not match tensor dtype {dtype.Name()}");
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        Check(llm_item(this, out var f, out var i));
        if (typeof(T) == typeof(float)) return (T)(object)(float)f;
        if (typeof(T) == typeof(double)) return (T)(object)f;
        if (typeof(T) == typeof(long)) return (T)(object)i;
        if (typeof(T) == typeof(int)) return (T)(object)checked((int)i);
        if (typeof(T) == typeof(bool)) return (T)(object)(i != 0);
        throw new NotSupportedException($"item<{typeof(T).Name}>() is not supported; use float, double, long, int or bool");
    }

    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        return $"Tensor(shape=[{string.Join(", ", shape)}], dtype={dtype.Name()}, device={device})";
    }

    /// <summary>libtorch's printout of the values (for debugging small tensors).</summary>
    public unsafe string ToValuesString()
    {
        var buf = new byte[1 << 16];
        fixed (byte* p = buf) Check(llm_tensor_to_string(this, p, buf.Length));
        int n = Array.IndexOf(buf, (byte)0);
        return Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
    }

    // ---- autograd ----

    public bool requires_grad
    {
        get => llm_requires_grad(this) != 0;
        set => Check(llm_set_requires_grad(this, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    public bool is_leaf => llm_is_leaf(this) != 0;

    /// <summary>The accumulated gradient as a new handle (owned by the current scope), or null.</summary>
    public Tensor? grad
    {
        get
        {
            Check(llm_grad(this, out var r));
            return Wrap(r);
        }
        set => Check(llm_set_grad(this, value));
    }

    public void backward(Tensor? gradient = null, bool retain_graph = false) =>
        Check(llm_backward(this, gradient, retain_graph ? 1 : 0));

    /// <summary>Replaces this tensor's data in place, keeping its identity (how Module.to moves parameters).</summary>
    public void set_data(Tensor data) => Check(llm_set_data(this, data));

    internal static unsafe IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
    {
        var ptrs = new IntPtr[tensors.Count];
        for (int i = 0; i < ptrs.Length; i++) ptrs[i] = tensors[i].NativeHandle;
        return ptrs;
    }
}

public partial class Tensor
{
    /// <summary>The elements as raw bytes (contiguous, on the host, in this tensor's dtype).</summary>
    public unsafe byte[] ToBytes()
    {
        var result = new byte[numel() * dtype.ElementSize()];
        fixed (byte* p = result) Check(llm_copy_to_host(this, p, result.Length));
        return result;
    }
}
