using System.Globalization;
using LlmTrainer.Config;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Data;

/// <summary>
/// The prepared datasets a run trains on (one, a weighted mixture, or the mixtures of a staged curriculum), their
/// tokenizer, the training batches (drawn one ahead; their cursor is checkpointed) and fresh evaluation loaders with a
/// fixed seed. With stages, one loader draws from every stage's datasets and only its weights change from stage to
/// stage, so a dataset keeps its place (and its epochs) across stages and one cursor holds every dataset's position.
/// </summary>
public sealed class TrainingData : IDisposable
{
    private readonly List<Source> sources = new();
    private readonly List<TrainingStage> stages = new();
    private BatchPrefetcher trainBatches = null!;

    /// <summary>One prepared dataset: its directory and its two splits.</summary>
    private sealed record Source(string Path, TokenDataset Train, TokenDataset Val);

    private TrainingData(Tokenizer tokenizer, string tokenizerPath)
    {
        Tokenizer = tokenizer;
        TokenizerPath = tokenizerPath;
    }

    public Tokenizer Tokenizer { get; }

    public string TokenizerPath { get; }

    /// <summary>The prepared directories, each once, in the order the config first names them.</summary>
    public IReadOnlyList<string> Directories => sources.Select(s => s.Path).ToList();

    /// <summary>Each dataset's name in logs and metrics: its directory's name, numbered when two share one.</summary>
    public IReadOnlyList<string> SourceNames { get; private set; } = [];

    public long TrainTokens => sources.Sum(s => s.Train.TokenCount);

    /// <summary>The mixtures trained on, in order; one for a run without stages.</summary>
    public IReadOnlyList<TrainingStage> Stages => stages;

    /// <summary>The stage the training batches are drawn for (0 until <see cref="EnterStage"/> moves on).</summary>
    public int Stage { get; private set; }

    /// <summary>
    /// Opens the data the config names: the built-in stories (prepared into the cache on first use), prepared directories,
    /// or every stage's directories. Every directory must have been tokenized with the same tokenizer.
    /// </summary>
    public static TrainingData Open(TrainConfig config, IProgressReporter progress)
    {
        var stages = config.Stages.IsEmpty
            ? new DataStages([new DataStage(null, config.Data.IsBuiltin ? DataSpec.FromPath(BuiltinData.EnsurePrepared(progress)) : config.Data)])
            : config.Stages;
        var paths = stages.Paths();
        var keys = paths.Select(DataSpec.DirectoryKey).ToList();
        var meta = DatasetMeta.Load(paths[0]);
        var tokenizerPath = Path.Combine(paths[0], meta.Tokenizer.File);
        if (!File.Exists(tokenizerPath))
            throw new LlmTrainerException($"{paths[0]}: meta.json names tokenizer '{meta.Tokenizer.File}' but {tokenizerPath} does not exist; prepare the data again.");
        var data = new TrainingData(Tokenizer.Load(tokenizerPath), tokenizerPath);
        try
        {
            var names = UniqueNames(paths);
            data.SourceNames = names;
            for (int i = 0; i < paths.Count; i++)
            {
                var train = TokenDataset.Open(paths[i], "train", data.Tokenizer.Hash);
                TokenDataset val;
                try
                {
                    val = TokenDataset.Open(paths[i], "val", data.Tokenizer.Hash);
                }
                catch
                {
                    train.Dispose(); // not yet among the sources that Dispose closes
                    throw;
                }
                data.sources.Add(new Source(paths[i], train, val));
            }
            foreach (var spec in stages.Items)
            {
                var weights = new double[paths.Count];
                foreach (var s in spec.Data.Sources)
                    weights[keys.IndexOf(DataSpec.DirectoryKey(s.Path))] += s.Weight;
                data.stages.Add(new TrainingStage(spec.Until, weights, spec.Data.ToString()));
            }
            double total = data.stages[^1].Weights.Sum();
            data.ValWeights = data.stages[^1].Weights.Select(w => w / total).ToArray();
            data.trainBatches = new BatchPrefetcher(data.Loader(train: true, data.stages[0].Weights, (ulong)config.Seed, config.SamplingMode));
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>Directory names, with " (2)", " (3)" … after a name already taken.</summary>
    private static List<string> UniqueNames(IReadOnlyList<string> paths)
    {
        var names = new List<string>();
        foreach (var path in paths)
        {
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
            if (name.Length == 0) name = path;
            var unique = name;
            for (int n = 2; names.Contains(unique); n++)
                unique = string.Create(CultureInfo.InvariantCulture, $"{name} ({n})");
            names.Add(unique);
        }
        return names;
    }

    private DataLoader Loader(bool train, IReadOnlyList<double> weights, ulong seed, SamplingMode mode = SamplingMode.Random)
    {
        var components = sources.Select((s, i) => new MixtureComponent(train ? s.Train : s.Val, weights[i])).ToList();
        return components.Count == 1 ? new DataLoader(components[0].Dataset, mode, seed) : new DataLoader(components, mode, seed);
    }

    /// <summary>
    /// Draws the training batches from stage <paramref name="stage"/>'s mixture from the next batch on; the batch drawn
    /// ahead for the stage before is put back. Nothing happens when the stage is the current one.
    /// </summary>
    public void EnterStage(int stage)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stage);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stage, stages.Count);
        if (stage == Stage) return;
        trainBatches.SetWeights(stages[stage].Weights);
        Stage = stage;
    }

    /// <summary>
    /// The stage a run is in before the step after <paramref name="step"/> steps and <paramref name="tokensSeen"/> tokens:
    /// the first whose end lies ahead; a stage ending in tokens ends once that many have been trained on.
    /// </summary>
    public int StageAt(long step, long tokensSeen)
    {
        for (int i = 0; i < stages.Count; i++)
        {
            if (stages[i].Until is not { } end || (end.InTokens ? tokensSeen < end.Value : step < end.Value))
                return i;
        }
        return stages.Count - 1;
    }

    /// <summary>A new loader over the training split in the current stage's mixture, always from the same seed, so that every evaluation sees the same batches.</summary>
    public DataLoader TrainEvalLoader(ulong seed) => Loader(train: true, stages[Stage].Weights, seed);

    /// <summary>A new loader over one dataset's validation split, always from the same seed.</summary>
    public DataLoader ValLoader(int source, ulong seed) => new(sources[source].Val, SamplingMode.Random, seed);

    /// <summary>
    /// Each dataset's share of the reported val loss: the mixture's weights, normalised; with stages the last stage's
    /// (the mixture the curriculum ends on), so that val losses compare across the whole run.
    /// </summary>
    public IReadOnlyList<double> ValWeights { get; private set; } = [];

    /// <summary>
    /// Sequential sampling: passes over the training data so far, as the most-walked source's completed epochs plus the
    /// share of its current one (windows of <paramref name="blockSize"/> + 1 tokens); 0 in random sampling.
    /// </summary>
    public double TrainEpoch(int blockSize)
    {
        var cursor = TrainCursor;
        if (cursor.Mode != "sequential") return 0;
        double most = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            long windows = Math.Max(1, (sources[i].Train.TokenCount - 1) / blockSize);
            most = Math.Max(most, cursor.Epochs[i] + (double)cursor.Positions[i] / windows);
        }
        return most;
    }

    /// <summary>
    /// The next training batch (this rank's rows of it, in data-parallel training); the one after it is drawn meanwhile,
    /// on another thread.
    /// </summary>
    public Batch NextTrainBatch(int batchSize, int blockSize, DataShard shard = default) => trainBatches.Next(batchSize, blockSize, shard);

    /// <summary>The position of the next training batch not yet taken (the one drawn ahead does not count): what a checkpoint saves.</summary>
    public DataCursor TrainCursor => trainBatches.Cursor;

    /// <summary>Continues the training batches from a saved <see cref="TrainCursor"/>.</summary>
    public void RestoreTrainCursor(DataCursor cursor) => trainBatches.Restore(cursor);

    public void Dispose()
    {
        trainBatches?.Dispose(); // the batch drawn ahead reads the datasets: wait for it first
        foreach (var source in sources)
        {
            source.Train.Dispose();
            source.Val.Dispose();
        }
    }
}
