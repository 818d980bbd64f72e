namespace LlmTrainer.Torch.Native;

/// <summary>
/// The finalizer of a tensor that no dispose scope owns: if the tensor is garbage-collected without being disposed,
/// this frees its native handle and counts a leak. Tensors inside a scope need none (the scope frees them).
/// Registering an object for finalization costs about as much as the op it wraps, so guards are pooled: a guard is
/// registered once, and a disposed tensor hands its guard back (disarmed, handle zero) for the next one. A pooled guard
/// is reachable from the pool, so it is never finalized while it waits.
/// </summary>
internal sealed class LeakGuard
{
    private const int PoolCapacity = 256;
    [ThreadStatic] private static Stack<LeakGuard>? pool;
    private static long leaked;

    private IntPtr handle;

    private LeakGuard() { }

    /// <summary>Handles released by a guard's finalizer instead of by their owner.</summary>
    public static long LeakedCount => Interlocked.Read(ref leaked);

    public static LeakGuard Arm(IntPtr handle)
    {
        var guard = pool is { Count: > 0 } p ? p.Pop() : new LeakGuard();
        guard.handle = handle;
        return guard;
    }

    /// <summary>The owner freed the handle: the guard goes back to this thread's pool.</summary>
    public void Disarm()
    {
        handle = IntPtr.Zero;
        var p = pool ??= new Stack<LeakGuard>();
        if (p.Count < PoolCapacity) p.Push(this);
        else GC.SuppressFinalize(this);
    }

    ~LeakGuard()
    {
        if (handle == IntPtr.Zero) return; // a pooled guard dropped with its thread
        Interlocked.Increment(ref leaked);
        NativeMethods.llm_tensor_free(handle);
    }
}
