using System.Numerics;

namespace LlmTrainer.Data;

/// <summary>
/// Draws training batches of token windows from one dataset or a weighted mixture.
/// A window is <c>blockSize + 1</c> consecutive tokens of a split's stream (it may cross shard boundaries and
/// document boundaries, as in nanoGPT); x is its first blockSize tokens, y the last blockSize.
/// In a mixture, each sequence first picks its dataset by weight. Random mode draws start positions uniformly;
/// sequential mode cuts each dataset's stream into windows that follow each other (advancing by blockSize so that
/// every token is a target once per epoch) and visits each window once per epoch, in an order shuffled afresh every
/// epoch (<see cref="WindowOrder"/>, keyed by the seed, the dataset and the epoch); a dataset starts its next epoch
/// right after its last window. All randomness comes from the seed and one seeded <see cref="Xoshiro256"/>, so
/// <see cref="Cursor"/> captures everything.
/// </summary>
public sealed class DataLoader
{
    private readonly MixtureComponent[] _components;
    private readonly double[] _cumulative;
    private readonly long[] _positions;
    private readonly long[] _epochs;
    private Xoshiro256 _rng;
    private ulong _orderSeed;
    private int _only; // the one dataset of positive weight, or -1

    public DataLoader(TokenDataset dataset, SamplingMode mode = SamplingMode.Random, ulong seed = 0)
        : this([new MixtureComponent(dataset, 1.0)], mode, seed)
    {
    }

    public DataLoader(IReadOnlyList<MixtureComponent> components, SamplingMode mode = SamplingMode.Random, ulong seed = 0)
    {
        if (components.Count == 0)
            throw new LlmTrainerException("A data mixture needs at least one dataset.");
        _components = components.ToArray();
        _cumulative = new double[_components.Length];
        SetWeights(_components.Select(c => c.Weight).ToArray());
        _positions = new long[_components.Length];
        _epochs = new long[_components.Length];
        Mode = mode;
        _rng = new Xoshiro256(seed);
        _orderSeed = seed;
    }

    public SamplingMode Mode { get; }

    public IReadOnlyList<MixtureComponent> Components => _components;

    /// <summary>Completed sequential passes over each component.</summary>
    public IReadOnlyList<long> Epochs => _epochs;

    /// <summary>Sequential mode: the next window's place in the current epoch's order, per dataset.</summary>
    public IReadOnlyList<long> Positions => _positions;

    public long BatchesDrawn { get; private set; }

    public DataCursor Cursor => new(Mode == SamplingMode.Random ? "random" : "sequential", _rng.State, _positions.ToArray(), _epochs.ToArray(), BatchesDrawn,
        Mode == SamplingMode.Sequential ? _orderSeed.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) : null);

    public void Restore(DataCursor cursor)
    {
        string mode = Mode == SamplingMode.Random ? "random" : "sequential";
        if (cursor.Mode != mode)
            throw new LlmTrainerException($"The saved data cursor is for {cursor.Mode} sampling but this loader samples {mode}; resume with the same data settings.");
        if (cursor.Positions.Count != _components.Length || cursor.Epochs.Count != _components.Length)
            throw new LlmTrainerException(
                $"The saved data cursor is for {cursor.Positions.Count} dataset(s) but this loader has {_components.Length}; resume with the same data mixture.");
        for (int i = 0; i < _components.Length; i++)
        {
            if (cursor.Positions[i] < 0 || cursor.Positions[i] > _components[i].Dataset.TokenCount || cursor.Epochs[i] < 0)
                throw new LlmTrainerException(
                    $"The saved data cursor position {cursor.Positions[i]} lies outside '{_components[i].Dataset.Name}' ({_components[i].Dataset.TokenCount} tokens); resume with the same data.");
        }
        _rng = Xoshiro256.FromState(cursor.Rng);
        if (cursor.Order is string order)
        {
            if (!ulong.TryParse(order, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out _orderSeed))
                throw new LlmTrainerException($"The saved data cursor has an invalid window order '{order}' (16 hex digits expected); resume from an intact checkpoint.");
        }
        cursor.Positions.ToArray().CopyTo(_positions, 0);
        cursor.Epochs.ToArray().CopyTo(_epochs, 0);
        BatchesDrawn = cursor.Batches;
    }

    /// <summary>
    /// A new batch in fresh arrays. With <paramref name="shard"/>, the batch is one rank's part of a global batch of
    /// batchSize × ranks rows: the rank's rows of it, so that the ranks together train on exactly the rows one process
    /// would draw with the global batch size, and every rank's loader stays at the same (global) position.
    /// </summary>
    public Batch GetBatch(int batchSize, int blockSize, DataShard shard = default)
    {
        CheckShape(batchSize, blockSize);
        var x = new long[batchSize * blockSize];
        var y = new long[batchSize * blockSize];
        NextBatch(batchSize, blockSize, x.AsSpan(), y.AsSpan(), shard);
        return new Batch(x, y, batchSize, blockSize);
    }

    /// <summary>Fills caller-owned buffers of batchSize × blockSize tokens (int64 or int32), row-major; see <see cref="GetBatch"/> for the shard.</summary>
    public void NextBatch<T>(int batchSize, int blockSize, Span<T> x, Span<T> y, DataShard shard = default) where T : unmanaged, IBinaryInteger<T>
    {
        CheckShape(batchSize, blockSize);
        int ranks = Math.Max(shard.Ranks, 1);
        if (shard.Rank < 0 || shard.Rank >= ranks)
            throw new ArgumentOutOfRangeException(nameof(shard), $"rank {shard.Rank} is not one of {ranks}");
        int size = batchSize * blockSize;
        if (x.Length != size || y.Length != size)
            throw new ArgumentException($"x and y must hold batchSize × blockSize = {size} tokens (got {x.Length} and {y.Length}).");
        foreach (var c in _components)
        {
            if (c.Dataset.TokenCount < blockSize + 1L)
                throw new LlmTrainerException(
                    $"'{c.Dataset.Name}' ({c.Dataset.Split}) holds {c.Dataset.TokenCount} tokens, fewer than block_size + 1 = {blockSize + 1}. " +
                    "Use a smaller block_size or more data.");
        }
        for (int globalRow = 0; globalRow < batchSize * ranks; globalRow++)
        {
            int component = PickComponent();
            var dataset = _components[component].Dataset;
            long start = Mode == SamplingMode.Random
                ? (long)_rng.NextBelow((ulong)(dataset.TokenCount - blockSize))
                : NextSequentialStart(component, blockSize);
            if (globalRow / batchSize != shard.Rank) continue; // another rank's row: drawn, so the position moves on, not copied
            int row = globalRow % batchSize;
            dataset.CopyTo(start, x.Slice(row * blockSize, blockSize));
            dataset.CopyTo(start + 1, y.Slice(row * blockSize, blockSize));
        }
        BatchesDrawn++;
    }

    /// <summary>
    /// Changes the mixture's weights from the next batch on (a curriculum's next stage). A dataset of weight 0 is not
    /// drawn from and keeps its place; at least one weight must be positive.
    /// </summary>
    public void SetWeights(IReadOnlyList<double> weights)
    {
        if (weights.Count != _components.Length)
            throw new ArgumentException($"{weights.Count} weights for {_components.Length} datasets", nameof(weights));
        for (int i = 0; i < weights.Count; i++)
        {
            if (!double.IsFinite(weights[i]) || weights[i] < 0)
                throw new LlmTrainerException($"Mixture weight {weights[i]} for '{_components[i].Dataset.Name}' must be a positive number.");
        }
        double sum = weights.Sum();
        if (!(sum > 0))
            throw new LlmTrainerException("A data mixture needs at least one dataset of positive weight.");
        double running = 0;
        for (int i = 0; i < weights.Count; i++)
            _cumulative[i] = (running += weights[i]) / sum;
        // One dataset drawn from alone is drawn exactly as a loader of that dataset alone would, without a pick per row.
        _only = weights.Count(w => w > 0) == 1 ? weights.ToList().FindIndex(w => w > 0) : -1;
    }

    private int PickComponent()
    {
        if (_only >= 0)
            return _only;
        double u = _rng.NextDouble();
        for (int i = 0; i < _cumulative.Length; i++)
        {
            if (u < _cumulative[i])
                return i;
        }
        // Not reached (u < 1, the last sum); else the first dataset reaching the total, the last of positive weight.
        return Array.IndexOf(_cumulative, _cumulative[^1]);
    }

    /// <summary>The start of the next window of the current epoch's order; after the last one, the next epoch begins.</summary>
    private long NextSequentialStart(int component, int blockSize)
    {
        // Windows of blockSize + 1 tokens at 0, blockSize, 2·blockSize, … as far as they fit.
        long windows = (_components[component].Dataset.TokenCount - 1) / blockSize;
        if (_positions[component] >= windows)
        {
            // A cursor saved with another block size, or at the end of an epoch by an older loader.
            _positions[component] = 0;
            _epochs[component]++;
        }
        var order = new WindowOrder(windows, WindowOrder.Key(_orderSeed, component, _epochs[component]));
        long start = order[_positions[component]] * blockSize;
        if (++_positions[component] == windows)
        {
            _positions[component] = 0;
            _epochs[component]++;
        }
        return start;
    }

    private static void CheckShape(int batchSize, int blockSize)
    {
        if (batchSize < 1 || blockSize < 1)
            throw new LlmTrainerException($"batch_size ({batchSize}) and block_size ({blockSize}) must be at least 1.");
        if ((long)batchSize * blockSize > Array.MaxLength)
            throw new LlmTrainerException($"batch_size × block_size = {(long)batchSize * blockSize} tokens is too large for one batch.");
    }
}
