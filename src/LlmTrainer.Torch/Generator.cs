using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>
/// A random number generator (torch.Generator). Its state can be saved and restored as bytes, which is
/// how a resumed run draws exactly the numbers an uninterrupted one would.
/// </summary>
public sealed class Generator : IDisposable
{
    private IntPtr ptr;

    private Generator(IntPtr ptr) => this.ptr = ptr;

    /// <summary>A new CPU generator.</summary>
    public Generator(long seed)
    {
        Check(llm_generator_new(seed, out ptr));
    }

    /// <summary>The device's default generator (what ops use when given none); shares its state.</summary>
    public static Generator Default(Device device)
    {
        Check(llm_generator_default((int)device.Type, Math.Max(device.Index, 0), out var p));
        return new Generator(p);
    }

    internal IntPtr Ptr
    {
        get
        {
            ObjectDisposedException.ThrowIf(ptr == IntPtr.Zero, this);
            return ptr;
        }
    }

    public Generator manual_seed(long seed)
    {
        Check(llm_generator_seed(Ptr, seed));
        return this;
    }

    public unsafe byte[] get_state()
    {
        Check(llm_generator_get_state(Ptr, null, 0, out var size));
        var state = new byte[size];
        fixed (byte* p = state) Check(llm_generator_get_state(Ptr, p, size, out _));
        return state;
    }

    public unsafe void set_state(byte[] state)
    {
        fixed (byte* p = state) Check(llm_generator_set_state(Ptr, p, state.Length));
    }

    public void Dispose()
    {
        if (ptr == IntPtr.Zero) return;
        llm_generator_free(ptr);
        ptr = IntPtr.Zero;
        GC.SuppressFinalize(this);
    }

    ~Generator()
    {
        if (ptr != IntPtr.Zero) llm_generator_free(ptr);
    }
}
