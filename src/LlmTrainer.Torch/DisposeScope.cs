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

    private readonly List<Tensor> tensors = new();
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
            foreach (var t in tensors)
                if (ReferenceEquals(t.Scope, this) && !t.IsDisposed) n++;
            return n;
        }
    }

    internal void Add(Tensor t)
    {
        t.Scope = this;
        tensors.Add(t);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in tensors)
            if (ReferenceEquals(t.Scope, this)) t.Dispose();
        tensors.Clear();
        if (ReferenceEquals(current, this)) current = Outer;
    }
}
