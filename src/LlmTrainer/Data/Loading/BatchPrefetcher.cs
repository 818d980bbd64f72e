namespace LlmTrainer.Data;

/// <summary>
/// Draws a loader's next batch on a background thread while the caller trains on the current one. The batches and
/// their order are exactly the loader's own. <see cref="Cursor"/> is the position of the next batch not yet taken
/// (the one drawn ahead does not count), which is what a checkpoint stores; the loader must not be used directly
/// while a prefetcher holds it.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly DataLoader loader;
    private Task<Batch>? ahead;
    private (int BatchSize, int BlockSize, DataShard Shard) aheadShape;
    private DataCursor? beforeAhead;

    public BatchPrefetcher(DataLoader loader) => this.loader = loader;

    /// <summary>The next batch (drawn ahead when the last call asked for the same shape), then starts drawing the one after.</summary>
    public Batch Next(int batchSize, int blockSize, DataShard shard = default)
    {
        Batch batch;
        if (ahead is { } pending && aheadShape == (batchSize, blockSize, shard))
        {
            ahead = null;
            batch = pending.GetAwaiter().GetResult(); // rethrows the loader's own exception, if any
        }
        else
        {
            Discard();
            batch = loader.GetBatch(batchSize, blockSize, shard);
        }
        beforeAhead = loader.Cursor;
        aheadShape = (batchSize, blockSize, shard);
        ahead = Task.Run(() => loader.GetBatch(batchSize, blockSize, shard));
        return batch;
    }

    /// <summary>Where the loader stands for the caller: before the batch drawn ahead.</summary>
    public DataCursor Cursor => ahead is null ? loader.Cursor : beforeAhead!;

    /// <summary>Moves to a saved position; the batch drawn ahead is dropped.</summary>
    public void Restore(DataCursor cursor)
    {
        Discard();
        loader.Restore(cursor);
    }

    /// <summary>Changes the mixture's weights from the next batch on; the batch drawn ahead with the old ones is dropped.</summary>
    public void SetWeights(IReadOnlyList<double> weights)
    {
        Discard();
        loader.SetWeights(weights);
    }

    /// <summary>Waits for the batch drawn ahead and puts the loader back to before it.</summary>
    private void Discard()
    {
        if (ahead is not { } pending) return;
        ahead = null;
        // Its exception, if any, belongs to a batch nobody takes.
        try { pending.Wait(); }
        catch (AggregateException) { }
        loader.Restore(beforeAhead!);
    }

    public void Dispose() => Discard();
}
