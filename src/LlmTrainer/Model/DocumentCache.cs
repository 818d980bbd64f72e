using LlmTrainer.Torch;

namespace LlmTrainer.Model;

/// <summary>
/// With doc_mask while sampling: the document of every cached position, (batch, block_size) int64, so that new
/// positions attend only within their own document. Owns its tensor.
/// </summary>
internal sealed class DocumentCache : IDisposable
{
    public DocumentCache(long batchSize, long blockSize, Device device) =>
        Document = torch.zeros([batchSize, blockSize], ScalarType.Int64, device).DetachFromDisposeScope();

    public Tensor Document { get; }

    /// <summary>Row i becomes the former row index[i], as the KV caches do in beam search.</summary>
    public void reorder(Tensor index)
    {
        using var scope = torch.NewDisposeScope();
        Document.copy_(Document.index_select(0, index.to(Document.device, ScalarType.Int64)));
    }

    public void Dispose() => Document.Dispose();
}
