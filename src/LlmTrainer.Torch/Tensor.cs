using System.Runtime.InteropServices;
using System.Text;
using LlmTrainer.Torch.Native;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle; dispose it, or create it inside a <see cref="DisposeScope"/>
/// that disposes it. A tensor whose handle is released by the finalizer was leaked: <see cref="LeakedCount"/> counts them.
/// (The SafeHandle is the only finalizable object per tensor: one finalizer registration per op, not two.)
/// </summary>
public partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;

    internal Tensor(IntPtr ptr)
    {
        handle = new TensorHandle(ptr);
        DisposeScope.Current?.Add(this);
    }

    /// <summary>Tensors that were garbage-collected without being disposed (a bug in their owner).</summary>
    public static long LeakedCount => TensorHandle.LeakedCount;

    /// <summary>Native tensor handles alive in the whole process.</summary>
    public static long LiveHandleCount => llm_live_tensors();

    internal DisposeScope? Scope { get; set; }

    public bool IsDisposed => handle.IsClosed;

    internal TensorHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            return handle;
        }
    }

    /// <summary>Wraps a native result; a null pointer means "undefined" and gives null.</summary>
    internal static Tensor? Wrap(IntPtr ptr) => ptr == IntPtr.Zero ? null : new Tensor(ptr);

    /// <summary>Wraps a native result that must be defined.</summary>
    internal static Tensor New(IntPtr ptr) =>
        ptr == IntPtr.Zero ? throw new TorchException("libtorch returned an undefined tensor") : new Tensor(ptr);

    public void Dispose()
    {
        if (handle.IsClosed) return;
        handle.DisposeByOwner();
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
            var h = Handle;
            var dims = new long[llm_dim(h)];
            fixed (long* p = dims) llm_shape(h, p);
            return dims;
        }
    }

    public long size(int dim)
    {
        var s = shape;
        return s[dim < 0 ? dim + s.Length : dim];
    }

    public int dim() => llm_dim(Handle);

    public long numel() => llm_numel(Handle);

    public ScalarType dtype => (ScalarType)llm_dtype(Handle);

    public Device device
    {
        get
        {
            llm_device(Handle, out var type, out var index);
            return new Device((DeviceType)type, index);
        }
    }

    public bool is_contiguous() => llm_is_contiguous(Handle) != 0;

    public long element_size() => dtype.ElementSize();

    // ---- conversion ----

    public Tensor to(ScalarType dtype, bool copy = false) => To((int)dtype, -1, -1, copy);

    public Tensor to(Device device, bool non_blocking = false) => To(-1, (int)device.Type, device.Index, false, non_blocking);

    public Tensor to(Device device, ScalarType dtype) => To((int)dtype, (int)device.Type, device.Index, false);

    public Tensor cpu() => to(Device.CPU);

    public Tensor cuda(int index = 0) => to(Device.CUDA(index));

    private Tensor To(int dtype, int dev, int idx, bool copy, bool nonBlocking = false)
    {
        Check(llm_to(Handle, dtype, dev, idx, nonBlocking ? 1 : 0, copy ? 1 : 0, out var r));
        return New(r);
    }

    /// <summary>A second handle to the same tensor (shared storage and autograd identity), owned separately.</summary>
    public Tensor alias()
    {
        Check(llm_tensor_alias(Handle, out var r));
        return New(r);
    }

    /// <summary>Copies the elements (contiguous, in this tensor's dtype) into a new managed array.</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>();
        var result = new T[numel()];
        fixed (T* p = result) Check(llm_copy_to_host(Handle, p, (long)result.Length * sizeof(T)));
        return result;
    }

    /// <summary>Copies the elements into <paramref name="destination"/>, which must have exactly numel() elements.</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = destination) Check(llm_copy_to_host(Handle, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>Overwrites the elements (any device) from host memory; no new tensor is created.</summary>
    public unsafe void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = source) Check(llm_copy_from_host(Handle, p, (long)source.Length * sizeof(T)));
    }

    private unsafe void CheckElementType<T>() where T : unmanaged
    {
        if (sizeof(T) != dtype.ElementSize())
            throw new InvalidOperationException($"element type {typeof(T).Name} does not match tensor dtype {dtype.Name()}");
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        Check(llm_item(Handle, out var f, out var i));
        if (typeof(T) == typeof(float)) return (T)(object)(float)f;
        if (typeof(T) == typeof(double)) return (T)(object)f;
        if (typeof(T) == typeof(long)) return (T)(object)i;
        if (typeof(T) == typeof(int)) return (T)(object)checked((int)i);
        if (typeof(T) == typeof(bool)) return (T)(object)(i != 0);
        throw new NotSupportedException($"item<{typeof(T).Name}>() is not supported; use float, double, long, int or bool");
    }

    public override string ToString()
    {
        if (handle.IsClosed) return "Tensor(disposed)";
        return $"Tensor(shape=[{string.Join(", ", shape)}], dtype={dtype.Name()}, device={device})";
    }

    /// <summary>libtorch's printout of the values (for debugging small tensors).</summary>
    public unsafe string ToValuesString()
    {
        var buf = new byte[1 << 16];
        fixed (byte* p = buf) Check(llm_tensor_to_string(Handle, p, buf.Length));
        int n = Array.IndexOf(buf, (byte)0);
        return Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
    }

    // ---- autograd ----

    public bool requires_grad
    {
        get => llm_requires_grad(Handle) != 0;
        set => Check(llm_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool value = true)
    {
        requires_grad = value;
        return this;
    }

    public bool is_leaf => llm_is_leaf(Handle) != 0;

    /// <summary>The accumulated gradient as a new handle (owned by the current scope), or null.</summary>
    public Tensor? grad
    {
        get
        {
            Check(llm_grad(Handle, out var r));
            return Wrap(r);
        }
        set => Check(llm_set_grad(Handle, value?.Handle ?? TensorHandle.Null));
    }

    public void backward(Tensor? gradient = null, bool retain_graph = false) =>
        Check(llm_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retain_graph ? 1 : 0));

    /// <summary>Replaces this tensor's data in place, keeping its identity (how Module.to moves parameters).</summary>
    public void set_data(Tensor data) => Check(llm_set_data(Handle, data.Handle));

    internal static unsafe IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
    {
        var ptrs = new IntPtr[tensors.Count];
        for (int i = 0; i < ptrs.Length; i++) ptrs[i] = tensors[i].Handle.DangerousGetHandle();
        return ptrs;
    }
}

public partial class Tensor
{
    /// <summary>The elements as raw bytes (contiguous, on the host, in this tensor's dtype).</summary>
    public unsafe byte[] ToBytes()
    {
        var result = new byte[numel() * dtype.ElementSize()];
        fixed (byte* p = result) Check(llm_copy_to_host(Handle, p, result.Length));
        return result;
    }
}
