using System.Globalization;
using System.Text.Json;
using LlmTrainer.Training;

namespace LlmTrainer.Plotting;

/// <summary>
/// The curves of one run, read from its metrics.jsonl: the training loss as logged and smoothed, the validation loss
/// (and each dataset's, for a mixture), the learning rate and the throughput, each against steps, tokens or time, and
/// where a curriculum's later stages begin.
/// </summary>
public sealed record RunCurves(string Name, PlotAxis Axis, Series TrainLoss, Series TrainLossSmoothed, Series ValLoss, Series LearningRate,
    Series TokensPerSecond, IReadOnlyList<Series> SourceValLoss, IReadOnlyList<(double At, int Stage)> StageStarts)
{
    /// <summary>
    /// The weight of the exponential moving average for <paramref name="points"/> points: its span is about a tenth of the
    /// curve (none under a dozen points, where smoothing would only lag), at most 0.9.
    /// </summary>
    public static double SmoothingWeight(int points) => points < 12 ? 0 : Math.Min(0.9, 1 - 10.0 / points);

    public bool IsEmpty => TrainLoss.Count == 0 && ValLoss.Count == 0;

    /// <summary>The curves of the run in <paramref name="runPath"/> (a run directory, or a metrics.jsonl file).</summary>
    public static RunCurves Read(string runPath, PlotAxis axis)
    {
        var metrics = File.Exists(runPath) ? runPath : Path.Combine(runPath, MetricsLog.FileName);
        if (!File.Exists(metrics))
            throw new LlmTrainerException($"'{runPath}' has no {MetricsLog.FileName}; give a run directory made by 'llmtrain train'.");
        var name = File.Exists(runPath) ? Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(runPath))) ?? runPath : Path.GetFileName(Path.GetFullPath(runPath).TrimEnd('/'));
        return FromEvents(name!, MetricsLog.Read(metrics), axis);
    }

    /// <summary>The curves of a run's metrics events.</summary>
    public static RunCurves FromEvents(string name, IReadOnlyList<JsonElement> events, PlotAxis axis)
    {
        var train = new Points();
        var val = new Points();
        var lr = new Points();
        var speed = new Points();
        var sources = new Dictionary<string, Points>();
        var stages = new List<(double, int)>();
        DateTimeOffset? start = null;
        foreach (var e in events)
        {
            var kind = e.TryGetProperty("event", out var k) ? k.GetString() : null;
            if (kind is not ("train" or "eval" or "stage")) continue;
            DateTimeOffset? time = e.TryGetProperty("time", out var t) &&
                DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
            start ??= time;
            double? x = axis switch
            {
                PlotAxis.Step => MetricsLog.ReadNumber(e, "step"),
                PlotAxis.Tokens => MetricsLog.ReadNumber(e, "tokens"),
                _ => time is { } now && start is { } first ? (now - first).TotalHours : null,
            };
            if (x is not { } at) continue;
            if (kind == "stage")
            {
                // The first stage starts with the run; a later one (or a resume inside it) is a boundary worth a line.
                if (MetricsLog.ReadNumber(e, "stage") is { } stage && stage >= 2 && !stages.Exists(s => s.Item2 == (int)stage))
                    stages.Add((at, (int)stage));
            }
            else if (kind == "train")
            {
                train.Add(at, MetricsLog.ReadNumber(e, "loss"));
                lr.Add(at, MetricsLog.ReadNumber(e, "lr"));
                speed.Add(at, MetricsLog.ReadNumber(e, "tokens_per_sec"));
            }
            else
            {
                val.Add(at, MetricsLog.ReadNumber(e, "val_loss"));
                if (e.TryGetProperty("source_val_loss", out var perSource) && perSource.ValueKind == JsonValueKind.Object)
                {
                    foreach (var source in perSource.EnumerateObject())
                    {
                        if (!sources.TryGetValue(source.Name, out var points)) sources[source.Name] = points = new Points();
                        points.Add(at, MetricsLog.ReadNumber(perSource, source.Name));
                    }
                }
            }
        }
        var raw = train.ToSeries($"{name} train");
        return new RunCurves(name, axis, raw, new Series($"{name} train (smoothed)", raw.X, Smooth(raw.Y, SmoothingWeight(raw.Count))),
            val.ToSeries($"{name} val"), lr.ToSeries($"{name} lr"), speed.ToSeries($"{name} tokens/s"),
            sources.Select(kv => kv.Value.ToSeries(kv.Key)).ToList(), stages);
    }

    /// <summary>Exponential moving average with weight <paramref name="weight"/> on the past, debiased as TensorBoard does.</summary>
    public static double[] Smooth(double[] values, double weight)
    {
        if (weight == 0) return [.. values];
        var smoothed = new double[values.Length];
        double last = 0;
        for (int i = 0; i < values.Length; i++)
        {
            last = last * weight + (1 - weight) * values[i];
            smoothed[i] = last / (1 - Math.Pow(weight, i + 1));
        }
        return smoothed;
    }


    private sealed class Points
    {
        private readonly List<double> x = [], y = [];

        public void Add(double at, double? value)
        {
            if (value is not { } v || !double.IsFinite(v) || !double.IsFinite(at)) return;
            x.Add(at);
            y.Add(v);
        }

        public Series ToSeries(string label) => new(label, [.. x], [.. y]);
    }
}
