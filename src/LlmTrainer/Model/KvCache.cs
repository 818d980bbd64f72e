using LlmTrainer.Torch;

namespace LlmTrainer.Model;

/// <summary>
/// One attention layer's keys and values for sampling, preallocated to (batch, n_kv_head, block_size, head_dim):
/// <see cref="update"/> writes the keys and values of positions startPos..startPos+T-1 in place and returns the
/// cache up to the last of them. Owns its two tensors.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor k, v;

    public KvCache(long batchSize, long nKvHead, long blockSize, long headDim, ScalarType dtype, Device device)
    {
        k = torch.zeros([batchSize, nKvHead, blockSize, headDim], dtype, device).DetachFromDisposeScope();
        v = torch.zeros([batchSize, nKvHead, blockSize, headDim], dtype, device).DetachFromDisposeScope();
        BatchSize = batchSize;
        BlockSize = blockSize;
    }

    public long BatchSize { get; }

    public long BlockSize { get; }

    /// <summary>
    /// Stores <paramref name="keys"/> and <paramref name="values"/> (B, n_kv_head, T, head_dim) at positions
    /// startPos..startPos+T-1 and returns views of the cache over positions 0..startPos+T-1.
    /// </summary>
    public (Tensor Keys, Tensor Values) update(long startPos, Tensor keys, Tensor values)
    {
        long t = keys.size(2);
        if (keys.size(0) != BatchSize)
            throw new ArgumentException($"batch of {keys.size(0)} rows, but the KV cache was set up for {BatchSize}; call setup_cache({keys.size(0)})");
        if (startPos < 0 || startPos + t > BlockSize)
            throw new ArgumentOutOfRangeException(nameof(startPos), startPos,
                $"positions {startPos}..{startPos + t - 1} do not fit the KV cache of {BlockSize} positions (block_size)");
        k.narrow(2, startPos, t).copy_(keys);
        v.narrow(2, startPos, t).copy_(values);
        return (k.narrow(2, 0, startPos + t), v.narrow(2, 0, startPos + t));
    }

    /// <summary>Row i becomes the former row index[i] (beam search: beams continue from their parents).</summary>
    public void reorder(Tensor index)
    {
        using var scope = torch.NewDisposeScope();
        var i = index.to(k.device, ScalarType.Int64);
        k.copy_(k.index_select(0, i));
        v.copy_(v.index_select(0, i));
    }

    public void Dispose()
    {
        k.Dispose();
        v.Dispose();
    }
}
