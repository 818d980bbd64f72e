namespace LlmTrainer.Torch;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost scope, and disposes them with itself.
/// A result that must outlive the scope is kept with <see cref="Tensor.MoveToOuterDisposeScope"/> or
/// <see cref="Tensor.DetachFromDisposeScope"/>. Scopes nest and must be disposed in reverse order of creation,
/// on the thread that created them.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    // A plain growable array: a scope is often made per op or per small helper, where a List costs a third allocation.
    private Tensor[]? tensors;
    private int count;
    private bool disposed;

    internal DisposeScope()
    {
        Outer = current;
        current = this;
    }

    internal static DisposeScope? Current => current;

    internal DisposeScope? Outer { get; }

    /// <summary>Tensors registered and still owned by this scope.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            for (int i = 0; i < count; i++)
                if (ReferenceEquals(tensors![i].Scope, this) && !tensors[i].IsDisposed) n++;
            return n;
        }
    }

    internal void Add(Tensor t)
    {
        t.Scope = this;
        if (tensors is null) tensors = new Tensor[8];
        else if (count == tensors.Length) Array.Resize(ref tensors, count * 2);
        tensors[count++] = t;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        for (int i = 0; i < count; i++)
            if (ReferenceEquals(tensors![i].Scope, this)) tensors[i].Dispose();
        tensors = null;
        count = 0;
        if (ReferenceEquals(current, this)) current = Outer;
    }
}
