using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

// Views, reshapes and indexing, named as in PyTorch.
public partial class Tensor
{
    public unsafe Tensor view(params long[] shape)
    {
        IntPtr r;
        fixed (long* p = shape) Check(llm_view(this, p, shape.Length, 0, out r));
        return New(r);
    }

    public unsafe Tensor reshape(params long[] shape)
    {
        IntPtr r;
        fixed (long* p = shape) Check(llm_view(this, p, shape.Length, 1, out r));
        return New(r);
    }

    public unsafe Tensor expand(params long[] shape)
    {
        IntPtr r;
        fixed (long* p = shape) Check(llm_expand(this, p, shape.Length, out r));
        return New(r);
    }

    public unsafe Tensor permute(params long[] dims)
    {
        IntPtr r;
        fixed (long* p = dims) Check(llm_permute(this, p, dims.Length, out r));
        return New(r);
    }

    public unsafe Tensor repeat(params long[] repeats)
    {
        IntPtr r;
        fixed (long* p = repeats) Check(llm_repeat(this, p, repeats.Length, out r));
        return New(r);
    }

    public Tensor transpose(long dim0, long dim1) { Check(llm_transpose(this, dim0, dim1, out var r)); return New(r); }

    /// <summary>Shorthand for transpose(-2, -1) on a matrix or a batch of matrices.</summary>
    public Tensor mT => transpose(-2, -1);

    public Tensor narrow(long dim, long start, long length) { Check(llm_narrow(this, dim, start, length, out var r)); return New(r); }

    public Tensor slice(long dim, long start, long end, long step = 1) { Check(llm_slice(this, dim, start, end, step, out var r)); return New(r); }

    public Tensor select(long dim, long index) { Check(llm_select(this, dim, index, out var r)); return New(r); }

    public Tensor index_select(long dim, Tensor index) { Check(llm_index_select(this, dim, index, out var r)); return New(r); }

    public Tensor gather(long dim, Tensor index) { Check(llm_gather(this, dim, index, out var r)); return New(r); }

    public Tensor scatter(long dim, Tensor index, Tensor src) { Check(llm_scatter(this, dim, index, src, 0, out var r)); return New(r); }

    public Tensor scatter_(long dim, Tensor index, Tensor src) { Check(llm_scatter(this, dim, index, src, 1, out _)); return this; }

    /// <summary>This tensor with alpha · src[i] added at index[i] along <paramref name="dim"/>; repeated indices accumulate.</summary>
    public Tensor index_add(long dim, Tensor index, Tensor source, double alpha = 1)
    {
        Check(llm_index_add(this, dim, index, source, alpha, 0, out var r));
        return New(r);
    }

    public Tensor index_add_(long dim, Tensor index, Tensor source, double alpha = 1)
    {
        Check(llm_index_add(this, dim, index, source, alpha, 1, out _));
        return this;
    }

    public Tensor index_copy_(long dim, Tensor index, Tensor src) { Check(llm_index_copy_(this, dim, index, src)); return this; }

    public Tensor unsqueeze(long dim) { Check(llm_unsqueeze(this, dim, out var r)); return New(r); }

    public Tensor squeeze() { Check(llm_squeeze(this, 0, 1, out var r)); return New(r); }

    public Tensor squeeze(long dim) { Check(llm_squeeze(this, dim, 0, out var r)); return New(r); }

    public Tensor flatten(long start_dim = 0, long end_dim = -1) { Check(llm_flatten(this, start_dim, end_dim, out var r)); return New(r); }

    public Tensor repeat_interleave(long repeats, long dim) { Check(llm_repeat_interleave(this, repeats, dim, out var r)); return New(r); }

    /// <summary>Pieces of <paramref name="split_size"/> along <paramref name="dim"/> (the last may be smaller).</summary>
    public Tensor[] split(long split_size, long dim = 0)
    {
        long n = size((int)dim);
        return Split(split_size, dim, chunks: false, (int)((n + split_size - 1) / split_size));
    }

    /// <summary><paramref name="chunks"/> pieces along <paramref name="dim"/> (fewer when the size does not allow).</summary>
    public Tensor[] chunk(long chunks, long dim = 0) => Split(chunks, dim, chunks: true, (int)chunks);

    private unsafe Tensor[] Split(long size, long dim, bool chunks, int cap)
    {
        var outs = new IntPtr[Math.Max(cap, 1)];
        int n;
        fixed (IntPtr* p = outs) Check(llm_split(this, size, dim, chunks ? 1 : 0, p, outs.Length, out n));
        var result = new Tensor[n];
        for (int i = 0; i < n; i++) result[i] = New(outs[i]);
        return result;
    }

    /// <summary>x[i] along the first dimension.</summary>
    public Tensor this[long index] => select(0, index);
}
