namespace LlmTrainer.Config;

/// <summary>
/// The <c>stages</c> key: a list of <c>{"until": ..., "data": ...}</c> objects that changes the data mixture during
/// training (a multi-stage curriculum). Empty for a run that trains on <c>data</c> throughout.
/// </summary>
public sealed record DataStages
{
    public static readonly DataStages None = new([]);

    public DataStages(IReadOnlyList<DataStage> items) => Items = items.ToArray();

    public IReadOnlyList<DataStage> Items { get; }

    public bool IsEmpty => Items.Count == 0;

    /// <summary>Every prepared dataset any stage trains on, once each (however its directory is spelled), in order of first appearance.</summary>
    public IReadOnlyList<string> Paths() => Items.SelectMany(s => s.Data.Sources.Select(x => x.Path))
        .DistinctBy(DataSpec.DirectoryKey).ToArray();

    /// <summary>Every stage's datasets as one list (what <c>llmtrain eval --split</c> reads for a staged run).</summary>
    public DataSpec AllData() => DataSpec.Mixture(Paths().Select(p => new DataSource(p, 1.0)).ToArray());

    /// <summary>The same stages with every path made absolute, so a run's config.json works from anywhere.</summary>
    public DataStages WithFullPaths() => new(Items.Select(s => s with { Data = s.Data.WithFullPaths() }).ToArray());

    public bool Equals(DataStages? other) => other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var stage in Items)
            hash.Add(stage);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        string.Join("; ", Items.Select((s, i) => $"stage {i + 1}: {s.Data}{(s.Until is { } until ? $" until {until}" : " to the end")}"));
}
