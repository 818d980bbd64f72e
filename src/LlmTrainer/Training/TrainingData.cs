using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>
/// The prepared datasets a run trains on (one, or a weighted mixture), their tokenizer, the training batches
/// (drawn one ahead; their cursor is checkpointed) and fresh evaluation loaders with a fixed seed.
/// </summary>
public sealed class TrainingData : IDisposable
{
    private readonly List<(TokenDataset Train, TokenDataset Val, double Weight)> sets = new();

    private TrainingData(Tokenizer tokenizer, string tokenizerPath, IReadOnlyList<string> directories)
    {
        Tokenizer = tokenizer;
        TokenizerPath = tokenizerPath;
        Directories = directories;
    }

    public Tokenizer Tokenizer { get; }

    public string TokenizerPath { get; }

    public IReadOnlyList<string> Directories { get; }

    private BatchPrefetcher trainBatches = null!;

    public long TrainTokens => sets.Sum(s => s.Train.TokenCount);

    /// <summary>
    /// Opens the data named by the config: the built-in stories (prepared into the cache on first use) or prepared
    /// directories. Every directory must have been tokenized with the same tokenizer.
    /// </summary>
    /// <param name="sampling">How training windows are drawn; evaluation windows are always random, from a fixed seed.</param>
    public static TrainingData Open(DataSpec spec, ulong seed, IProgressReporter progress, SamplingMode sampling = SamplingMode.Random)
    {
        var sources = spec.IsBuiltin
            ? [new DataSource(BuiltinData.EnsurePrepared(progress), 1.0)]
            : spec.Sources;
        var first = sources[0].Path;
        var meta = DatasetMeta.Load(first);
        var tokenizerPath = Path.Combine(first, meta.Tokenizer.File);
        if (!File.Exists(tokenizerPath))
            throw new LlmTrainerException($"{first}: meta.json names tokenizer '{meta.Tokenizer.File}' but {tokenizerPath} does not exist; prepare the data again.");
        var tokenizer = Tokenizer.Load(tokenizerPath);
        var data = new TrainingData(tokenizer, tokenizerPath, sources.Select(s => s.Path).ToList());
        try
        {
            foreach (var s in sources)
            {
                var train = TokenDataset.Open(s.Path, "train", tokenizer.Hash);
                var val = TokenDataset.Open(s.Path, "val", tokenizer.Hash);
                data.sets.Add((train, val, s.Weight));
            }
            data.trainBatches = new BatchPrefetcher(data.Loader("train", seed, sampling));
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    private DataLoader Loader(string split, ulong seed, SamplingMode mode = SamplingMode.Random)
    {
        var components = sets.Select(s => new MixtureComponent(split == "train" ? s.Train : s.Val, s.Weight)).ToList();
        return components.Count == 1 ? new DataLoader(components[0].Dataset, mode, seed) : new DataLoader(components, mode, seed);
    }

    /// <summary>A new loader over a split, always from the same seed, so that every evaluation sees the same batches.</summary>
    public DataLoader EvalLoader(string split, ulong seed) => Loader(split, seed);

    /// <summary>
    /// Sequential sampling: passes over the training data so far, as the most-walked source's completed epochs plus the
    /// share of its current one (windows of <paramref name="blockSize"/> + 1 tokens); 0 in random sampling.
    /// </summary>
    public double TrainEpoch(int blockSize)
    {
        var cursor = TrainCursor;
        if (cursor.Mode != "sequential") return 0;
        double most = 0;
        for (int i = 0; i < sets.Count; i++)
        {
            long windows = Math.Max(1, (sets[i].Train.TokenCount - 1) / blockSize);
            most = Math.Max(most, cursor.Epochs[i] + (double)cursor.Positions[i] / windows);
        }
        return most;
    }

    /// The next training batch on <paramref name="device"/> (this rank's rows of it, in data-parallel training); the one
    /// after it is drawn meanwhile, on another thread.
    /// </summary>
    public (Tensor X, Tensor Y) NextTrainBatch(int batchSize, int blockSize, Device device, DataShard shard = default) =>
        ToTensors(trainBatches.Next(batchSize, blockSize, shard), device);

    /// <summary>The position of the next training batch not yet taken (the one drawn ahead does not count): what a checkpoint saves.</summary>
    public DataCursor TrainCursor => trainBatches.Cursor;

    /// <summary>Continues the training batches from a saved <see cref="TrainCursor"/>.</summary>
    public void RestoreTrainCursor(DataCursor cursor) => trainBatches.Restore(cursor);

    /// <summary>
    /// Token ids as int64 tensors on <paramref name="device"/>. For CUDA they go through page-locked memory and copy
    /// without blocking, so the host moves on while the copy waits its turn behind the running step.
    /// </summary>
    public static (Tensor X, Tensor Y) ToTensors(Batch batch, Device device)
    {
        long[] shape = [batch.BatchSize, batch.BlockSize];
        var x = torch.tensor(batch.X, shape);
        var y = torch.tensor(batch.Y, shape);
        if (device.IsCuda)
        {
            x = x.pin_memory().to(device, non_blocking: true);
            y = y.pin_memory().to(device, non_blocking: true);
        }
        return (x, y);
    }

    public void Dispose()
    {
        trainBatches?.Dispose(); // the batch drawn ahead reads the datasets: wait for it first
        foreach (var (train, val, _) in sets)
        {
            train.Dispose();
            val.Dispose();
        }
    }
}
