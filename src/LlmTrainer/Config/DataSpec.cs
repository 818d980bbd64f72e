namespace LlmTrainer.Config;

/// <summary>
/// The <c>data</c> key: the word <c>builtin</c> (the small corpus shipped inside llmtrain), one path to
/// prepared data, or a weighted mixture of several. In JSON a mixture is a list of
/// <c>{"path": ..., "weight": ...}</c> objects; on the command line or in an environment variable the
/// same list may be given as a JSON string (<c>--data '[{"path":"a","weight":3},{"path":"b","weight":1}]'</c>)
/// or key by key (<c>--data:0:path a --data:0:weight 3</c>).
/// </summary>
public sealed record DataSpec
{
    public const string BuiltinName = "builtin";

    public static readonly DataSpec Builtin = new([]);

    private DataSpec(IReadOnlyList<DataSource> sources) => Sources = sources;

    /// <summary>The prepared datasets; empty for the built-in corpus, one entry of weight 1 for a single path.</summary>
    public IReadOnlyList<DataSource> Sources { get; }

    public bool IsBuiltin => Sources.Count == 0;

    /// <summary>True when the value was a list (even of one entry), so it renders back as a list.</summary>
    public bool IsMixture { get; private init; }

    public static DataSpec FromPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return path == BuiltinName ? Builtin : new DataSpec([new DataSource(path, 1.0)]);
    }

    public static DataSpec Mixture(IReadOnlyList<DataSource> sources)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sources.Count);
        return new DataSpec(sources.ToArray()) { IsMixture = true };
    }

    /// <summary>The same spec with every path made absolute (against the current directory), so a run's config.json works from anywhere.</summary>
    public DataSpec WithFullPaths() =>
        IsBuiltin ? this : new DataSpec(Sources.Select(s => s with { Path = System.IO.Path.GetFullPath(s.Path) }).ToArray()) { IsMixture = IsMixture };

    /// <summary>
    /// What makes two spellings of a directory one dataset ("data/a", "data/a/", "./data/a"): its full path without a
    /// trailing separator. A run's config.json holds the paths made absolute, so a resume finds the datasets it left.
    /// </summary>
    public static string DirectoryKey(string path) => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));

    /// <summary>Each source's sampling probability: its weight over the sum of weights.</summary>
    public IReadOnlyList<double> Probabilities()
    {
        var total = Sources.Sum(s => s.Weight);
        return Sources.Select(s => s.Weight / total).ToArray();
    }

    public bool Equals(DataSpec? other) =>
        other is not null && IsMixture == other.IsMixture && Sources.SequenceEqual(other.Sources);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsMixture);
        foreach (var source in Sources)
            hash.Add(source);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        IsBuiltin ? BuiltinName
        : IsMixture ? string.Join(", ", Sources.Select(s => $"{s.Path} (weight {s.Weight})"))
        : Sources[0].Path;
}
