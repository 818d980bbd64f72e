using System.Runtime.InteropServices;
using LlmTrainer.Torch.Native;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>The torch namespace: tensor creation, grad mode, RNG, threads, devices.</summary>
public static unsafe partial class torch
{
    public const ScalarType float32 = ScalarType.Float32;
    public const ScalarType float16 = ScalarType.Float16;
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    public const ScalarType float64 = ScalarType.Float64;
    public const ScalarType int64 = ScalarType.Int64;
    public const ScalarType int32 = ScalarType.Int32;
    public const ScalarType int16 = ScalarType.Int16;
    public const ScalarType int8 = ScalarType.Int8;
    public const ScalarType uint8 = ScalarType.Byte;
    public const ScalarType @bool = ScalarType.Bool;

    public static Device device(string name) => Device.Parse(name);

    public static DisposeScope NewDisposeScope() => new();

    // ---- creation ----

    private static Tensor Create(delegate*<long*, int, int, int, int, out IntPtr, int> f, long[] shape, ScalarType dtype, Device? device, bool requiresGrad)
    {
        var d = device ?? Device.CPU;
        IntPtr r;
        fixed (long* p = shape) Check(f(p, shape.Length, (int)dtype, (int)d.Type, d.Index, out r));
        var t = Tensor.New(r);
        if (requiresGrad) t.requires_grad = true;
        return t;
    }

    public static Tensor zeros(long[] shape, ScalarType dtype = float32, Device? device = null, bool requires_grad = false) =>
        Create(&llm_zeros, shape, dtype, device, requires_grad);

    public static Tensor ones(long[] shape, ScalarType dtype = float32, Device? device = null, bool requires_grad = false) =>
        Create(&llm_ones, shape, dtype, device, requires_grad);

    public static Tensor empty(long[] shape, ScalarType dtype = float32, Device? device = null, bool requires_grad = false) =>
        Create(&llm_empty, shape, dtype, device, requires_grad);

    public static Tensor full(long[] shape, Scalar value, ScalarType dtype = float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        IntPtr r;
        fixed (long* p = shape)
            Check(llm_full(p, shape.Length, value.Float, value.Int, value.IsIntegral ? 1 : 0, (int)dtype, (int)d.Type, d.Index, out r));
        return Tensor.New(r);
    }

    public static Tensor zeros_like(Tensor t) { Check(llm_like(0, t, out var r)); return Tensor.New(r); }
    public static Tensor ones_like(Tensor t) { Check(llm_like(1, t, out var r)); return Tensor.New(r); }
    public static Tensor empty_like(Tensor t) { Check(llm_like(2, t, out var r)); return Tensor.New(r); }

    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        Check(llm_arange(start, end, step, (int)dtype, (int)d.Type, d.Index, out var r));
        return Tensor.New(r);
    }

    public static Tensor arange(long end, ScalarType dtype = int64, Device? device = null) => arange(0, end, 1, dtype, device);

    private static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[]? shape, ScalarType dtype, Device? device) where T : unmanaged
    {
        shape ??= [data.Length];
        long n = 1;
        foreach (var s in shape) n *= s;
        if (n != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape [{string.Join(", ", shape)}]");
        IntPtr r;
        fixed (T* p = data)
        fixed (long* s = shape)
            Check(llm_from_data(p, (long)data.Length * sizeof(T), s, shape.Length, (int)dtype, out r));
        var t = Tensor.New(r);
        if (device is { Type: not DeviceType.CPU } dev)
        {
            using var cpu = t;
            t = cpu.to(dev);
        }
        return t;
    }

    /// <summary>A new tensor holding a copy of <paramref name="data"/> (1-D unless a shape is given).</summary>
    public static Tensor tensor(ReadOnlySpan<float> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, float32, device);
    public static Tensor tensor(ReadOnlySpan<double> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, float64, device);
    public static Tensor tensor(ReadOnlySpan<long> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, int64, device);
    public static Tensor tensor(ReadOnlySpan<int> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, int32, device);
    public static Tensor tensor(ReadOnlySpan<short> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, int16, device);
    public static Tensor tensor(ReadOnlySpan<byte> data, long[]? shape = null, Device? device = null) => FromSpan(data, shape, uint8, device);

    public static Tensor tensor(ReadOnlySpan<bool> data, long[]? shape = null, Device? device = null) =>
        FromSpan(MemoryMarshal.Cast<bool, byte>(data), shape, @bool, device);

    /// <summary>
    /// Token ids stored as uint16 (shards) become an int64 tensor, the index type embeddings and losses take;
    /// libtorch 1.13 has no uint16 dtype.
    /// </summary>
    public static Tensor tensor(ReadOnlySpan<ushort> data, long[]? shape = null, Device? device = null)
    {
        var wide = new long[data.Length];
        for (int i = 0; i < data.Length; i++) wide[i] = data[i];
        return FromSpan<long>(wide, shape, int64, device);
    }

    public static Tensor scalar_tensor(Scalar value, ScalarType dtype = float32, Device? device = null) => full([], value, dtype, device);

    // ---- random ----

    public static Tensor randn(long[] shape, ScalarType dtype = float32, Device? device = null, Generator? generator = null) => Random(0, shape, dtype, device, generator);

    public static Tensor rand(long[] shape, ScalarType dtype = float32, Device? device = null, Generator? generator = null) => Random(1, shape, dtype, device, generator);

    private static Tensor Random(int kind, long[] shape, ScalarType dtype, Device? device, Generator? generator)
    {
        var d = device ?? Device.CPU;
        IntPtr r;
        fixed (long* p = shape) Check(llm_random(kind, p, shape.Length, generator?.Ptr ?? IntPtr.Zero, (int)dtype, (int)d.Type, d.Index, out r));
        return Tensor.New(r);
    }

    /// <summary>Integers uniformly in [low, high).</summary>
    public static Tensor randint(long low, long high, long[] shape, ScalarType dtype = int64, Device? device = null, Generator? generator = null)
    {
        var d = device ?? Device.CPU;
        IntPtr r;
        fixed (long* p = shape) Check(llm_randint(low, high, p, shape.Length, generator?.Ptr ?? IntPtr.Zero, (int)dtype, (int)d.Type, d.Index, out r));
        return Tensor.New(r);
    }

    public static Tensor multinomial(Tensor probs, long num_samples, bool replacement = false, Generator? generator = null)
    {
        Check(llm_multinomial(probs, num_samples, replacement ? 1 : 0, generator?.Ptr ?? IntPtr.Zero, out var r));
        return Tensor.New(r);
    }

    /// <summary>Seeds every device's default generator.</summary>
    public static void manual_seed(long seed) => Check(llm_manual_seed(seed));

    /// <summary>The default CPU generator's state (torch.get_rng_state()).</summary>
    public static byte[] get_rng_state()
    {
        using var g = Generator.Default(Device.CPU);
        return g.get_state();
    }

    public static void set_rng_state(byte[] state)
    {
        using var g = Generator.Default(Device.CPU);
        g.set_state(state);
    }

    // ---- combining ----

    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => Cat(tensors, dim, false);

    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => Cat(tensors, dim, true);

    private static Tensor Cat(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        var ptrs = Tensor.Handles(tensors);
        IntPtr r;
        fixed (IntPtr* p = ptrs) Check(llm_cat(p, ptrs.Length, dim, stack ? 1 : 0, out r));
        GC.KeepAlive(tensors);
        return Tensor.New(r);
    }

    public static Tensor where(Tensor condition, Tensor x, Tensor y)
    {
        Check(llm_where(condition, x, y, out var r));
        return Tensor.New(r);
    }

    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);

    public static Tensor bmm(Tensor a, Tensor b) => a.bmm(b);

    /// <summary>A scalar raised to each element of <paramref name="exponent"/> (torch.pow(Scalar self, Tensor exponent)).</summary>
    public static Tensor pow(Scalar self, Tensor exponent) => exponent.rpow(self);

    // ---- grad mode ----

    public static bool is_grad_enabled() => llm_grad_enabled() != 0;

    /// <summary>
    /// Whether rms_norm, apply_rotary_emb, swiglu, cross_entropy and AdamW use llmtrain's fused CPU kernels for float32 tensors
    /// (on by default; off gives libtorch's own ops, e.g. to compare). Process-wide.
    /// </summary>
    public static bool fused_kernels
    {
        get => llm_fused_kernels() != 0;
        set => llm_set_fused_kernels(value ? 1 : 0);
    }

    public static void set_grad_enabled(bool enabled) => llm_set_grad_enabled(enabled ? 1 : 0);

    /// <summary>Disables gradient tracking on this thread until disposed (<c>using var _ = torch.no_grad();</c>).</summary>
    public static GradModeGuard no_grad() => new(false);

    public static GradModeGuard enable_grad() => new(true);

    /// <summary>Inference mode: like no_grad, and tensors made inside can never enter autograd (faster).</summary>
    public static InferenceModeGuard inference_mode() => new();

    public static bool is_inference_mode_enabled() => llm_is_inference_mode() != 0;

    /// <summary>
    /// Mixed precision on <paramref name="device_type"/> (CUDA or the CPU), as torch.autocast: matmuls and attention run in
    /// <paramref name="dtype"/>, reductions and losses in float32, parameters stay float32, until disposed.
    /// </summary>
    public static AutocastGuard autocast(DeviceType device_type, ScalarType dtype = bfloat16) => new(device_type, dtype);

    public static bool is_autocast_enabled(DeviceType device_type = DeviceType.CUDA) => llm_autocast_is_enabled((int)device_type) != 0;

    // ---- threads and build ----

    public static int get_num_threads() => llm_get_num_threads();

    public static void set_num_threads(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "thread count must be positive");
        Check(llm_set_num_threads(n));
    }

    /// <summary>What the native shim was built against, as JSON (torch version, CUDA, optional kernels).</summary>
    public static string build_info() => Marshal.PtrToStringUTF8(llm_build_info()) ?? "{}";

    /// <summary>libtorch's description of its threading and BLAS.</summary>
    public static string parallel_info()
    {
        var buf = new byte[8192];
        fixed (byte* p = buf) Check(llm_parallel_info(p, buf.Length));
        int n = Array.IndexOf(buf, (byte)0);
        return System.Text.Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
    }
}

/// <summary>Restores the previous grad mode when disposed.</summary>
public readonly struct GradModeGuard : IDisposable
{
    private readonly bool previous;

    internal GradModeGuard(bool enabled)
    {
        previous = llm_grad_enabled() != 0;
        llm_set_grad_enabled(enabled ? 1 : 0);
    }

    public void Dispose() => llm_set_grad_enabled(previous ? 1 : 0);
}

/// <summary>Leaves inference mode when disposed (on the same thread, innermost first).</summary>
public sealed class InferenceModeGuard : IDisposable
{
    private IntPtr guard;

    internal InferenceModeGuard() => Check(llm_inference_mode_enter(out guard));

    public void Dispose()
    {
        if (guard == IntPtr.Zero) return;
        llm_inference_mode_exit(guard);
        guard = IntPtr.Zero;
    }
}

/// <summary>Restores the previous autocast state when disposed.</summary>
public sealed class AutocastGuard : IDisposable
{
    private readonly int deviceType, prevEnabled, prevDtype;
    private bool disposed;

    internal AutocastGuard(DeviceType device, ScalarType dtype)
    {
        deviceType = (int)device;
        Check(llm_autocast_enter(deviceType, (int)dtype, out prevEnabled, out prevDtype));
    }

    // Restoring the state of a device that entering accepted cannot fail, so Dispose never throws.
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        _ = llm_autocast_exit(deviceType, prevEnabled, prevDtype);
    }
}

public static partial class torch
{
    /// <summary>A new CPU tensor of <paramref name="dtype"/> and <paramref name="shape"/> holding a copy of raw little-endian bytes.</summary>
    public static unsafe Tensor frombuffer(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        IntPtr r;
        fixed (byte* p = bytes)
        fixed (long* s = shape)
            Check(llm_from_data(p, bytes.Length, s, shape.Length, (int)dtype, out r));
        return Tensor.New(r);
    }
}

public static partial class torch
{
    public static class autograd
    {
        /// <summary>
        /// One backward pass from several roots at once (torch.autograd.backward): gradients flowing into a shared part
        /// of the graph are summed before it is traversed. A null gradient stands for ones and needs a scalar root.
        /// </summary>
        public static unsafe void backward(IReadOnlyList<Tensor> tensors, IReadOnlyList<Tensor?> grad_tensors)
        {
            if (tensors.Count != grad_tensors.Count)
                throw new ArgumentException($"{tensors.Count} tensors but {grad_tensors.Count} gradients", nameof(grad_tensors));
            var roots = Tensor.Handles(tensors);
            var grads = grad_tensors.Select(g => g?.NativeHandle ?? IntPtr.Zero).ToArray();
            fixed (IntPtr* r = roots)
            fixed (IntPtr* g = grads)
                Check(llm_autograd_backward(r, g, roots.Length));
            GC.KeepAlive(tensors);
            GC.KeepAlive(grad_tensors);
        }
    }
}
