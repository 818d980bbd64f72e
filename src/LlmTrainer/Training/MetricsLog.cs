using System.Text;
using System.Text.Json;
using LlmTrainer.TensorBoard;

namespace LlmTrainer.Training;

/// <summary>
/// The run's <c>metrics.jsonl</c>: one JSON object per line, appended and flushed as it happens so that
/// a crash loses nothing already logged and other tools can follow the file while training runs.
/// Every line has <c>event</c> (<c>train</c>, <c>eval</c>, ...), <c>time</c> (UTC, ISO 8601) and
/// <c>step</c>. Non-finite numbers (a diverged loss) are written as the strings "NaN", "Infinity".
/// The same scalars go to a TensorBoard event file beside it (<see cref="EventFileWriter"/>), so that
/// <c>tensorboard --logdir runs</c> shows every run.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly FileStream _stream;
    private readonly TimeProvider _time;
    private readonly LineBuffer _line = new();
    private readonly EventFileWriter? _events;

    /// <param name="tensorBoard">Also write the scalars to a new TensorBoard event file in the same directory.</param>
    public MetricsLog(string path, TimeProvider? time = null, bool tensorBoard = true)
    {
        Path = path;
        _time = time ?? TimeProvider.System;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        // A log that already has events belongs to a resumed run: the steps after its last one are logged again.
        long? lastStep = File.Exists(path) ? LastStep(path) : null;
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        if (tensorBoard)
        {
            _events = new EventFileWriter(directory, _time);
            if (lastStep is { } s) _events.SessionStart(s + 1);
        }
    }

    /// <summary>
    /// A number field of a metrics.jsonl record; the strings "NaN" and "Infinity" written for non-finite values count as
    /// numbers. Null when the field is missing or not a number.
    /// </summary>
    public static double? ReadNumber(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble(),
            JsonValueKind.String when double.TryParse(v.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        };
    }

    public string Path { get; }

    /// <summary>The scalars of a train record as TensorBoard tags (loss, learning rate, norm, throughput, router losses).</summary>
    public static IEnumerable<(string Tag, double Value)> Scalars(TrainMetrics m)
    {
        yield return ("loss/train", m.Loss);
        yield return ("lr", m.LearningRate);
        if (m.GradNorm is { } norm) yield return ("grad_norm", norm);
        yield return ("throughput/tokens_per_sec", m.TokensPerSecond);
        yield return ("throughput/step_ms", m.StepMilliseconds);
        if (m.Mfu is { } mfu) yield return ("throughput/mfu", mfu);
        if (m.PeakMemoryMb is { } memory) yield return ("memory/peak_mb", memory);
        if (m.AuxLoss is { } aux) yield return ("moe/aux_loss", aux);
        if (m.ZLoss is { } z) yield return ("moe/z_loss", z);
        if (m.DroppedFraction is { } dropped) yield return ("moe/dropped_fraction", dropped);
    }

    /// <summary>The scalars of an eval record as TensorBoard tags (val loss beside train loss, bits per byte, expert balance).</summary>
    public static IEnumerable<(string Tag, double Value)> Scalars(EvalMetrics m)
    {
        yield return ("loss/val", m.ValLoss);
        if (m.TrainLoss is { } train) yield return ("loss/train_eval", train);
        yield return ("eval/val_ppl", Math.Exp(m.ValLoss));
        if (m.BitsPerByte is { } bpb) yield return ("eval/bits_per_byte", bpb);
        if (m.ExpertBalance is { } balance) yield return ("moe/expert_balance", balance);
        foreach (var (source, loss) in m.SourceValLoss ?? new Dictionary<string, double>())
            yield return ($"loss/val/{source}", loss);
    }

    public void Train(TrainMetrics metrics)
    {
        WriteTrain(metrics);
        _events?.Scalars(metrics.Step, Scalars(metrics));
    }

    public void Eval(EvalMetrics metrics)
    {
        WriteEval(metrics);
        _events?.Scalars(metrics.Step, Scalars(metrics));
    }

    private void WriteTrain(TrainMetrics metrics) => Write("train", metrics.Step, json =>
    {
        Number(json, "loss", metrics.Loss);
        Number(json, "lr", metrics.LearningRate);
        if (metrics.GradNorm is { } norm)
            Number(json, "grad_norm", norm);
        json.WriteNumber("tokens", metrics.TokensSeen);
        Number(json, "tokens_per_sec", metrics.TokensPerSecond);
        Number(json, "step_ms", metrics.StepMilliseconds);
        if (metrics.Mfu is { } mfu)
            Number(json, "mfu", mfu);
        if (metrics.PeakMemoryMb is { } memory)
            Number(json, "peak_memory_mb", memory);
        if (metrics.AuxLoss is { } aux)
            Number(json, "aux_loss", aux);
        if (metrics.ZLoss is { } z)
            Number(json, "z_loss", z);
        if (metrics.DroppedTokens is { } dropped)
            json.WriteNumber("dropped_tokens", dropped);
        if (metrics.DroppedFraction is { } fraction)
            Number(json, "dropped_fraction", fraction);
    });

    private void WriteEval(EvalMetrics metrics) => Write("eval", metrics.Step, json =>
    {
        json.WriteNumber("tokens", metrics.TokensSeen);
        if (metrics.TrainLoss is { } train)
            Number(json, "train_loss", train);
        Number(json, "val_loss", metrics.ValLoss);
        Number(json, "val_ppl", Math.Exp(metrics.ValLoss));
        if (metrics.BitsPerByte is { } bpb)
            Number(json, "bits_per_byte", bpb);
        if (metrics.ExpertLoad is { } load)
        {
            json.WriteStartArray("expert_load");
            foreach (var layer in load)
            {
                json.WriteStartArray();
                foreach (var share in layer) json.WriteNumberValue(Math.Round(share, 6));
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        if (metrics.ExpertBalance is { } balance)
            Number(json, "expert_balance", balance);
        if (metrics.SourceValLoss is { } sources)
        {
            json.WriteStartObject("source_val_loss");
            foreach (var (source, loss) in sources) Number(json, source, loss);
            json.WriteEndObject();
        }
    });

    /// <summary>Any other event (start, checkpoint, stop): a name, the step, and flat fields of numbers, strings or booleans.</summary>
    public void Event(string name, long step, IReadOnlyDictionary<string, object?> fields) => Write(name, step, json =>
    {
        foreach (var (key, value) in fields)
        {
            switch (value)
            {
                case null:
                    json.WriteNull(key);
                    break;
                case string s:
                    json.WriteString(key, s);
                    break;
                case bool b:
                    json.WriteBoolean(key, b);
                    break;
                case int or long:
                    json.WriteNumber(key, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case float or double:
                    Number(json, key, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new ArgumentException($"field '{key}' has type {value.GetType().Name}; use a number, string or boolean.", nameof(fields));
            }
        }
    });

    /// <summary>
    /// Every complete line of a metrics file, in order. A torn last line (the process died while
    /// writing it) is skipped; a malformed line elsewhere is an error naming the line.
    /// </summary>
    public static IReadOnlyList<JsonElement> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var last = Array.FindLastIndex(lines, line => line.Length > 0);
        var events = new List<JsonElement>(lines.Length);
        for (var i = 0; i <= last; i++)
        {
            if (lines[i].Length == 0)
                continue;
            try
            {
                using var document = JsonDocument.Parse(lines[i]);
                events.Add(document.RootElement.Clone());
            }
            catch (JsonException e)
            {
                if (i == last)
                    break;
                throw new LlmTrainerException($"{path}, line {i + 1}, is not a JSON object: {e.Message}", e);
            }
        }
        return events;
    }

    /// <summary>
    /// Drops the events after <paramref name="step"/>, for a run resumed from a checkpoint taken at that
    /// step: the steps after it will be logged again; with <paramref name="evaluationsAtStep"/> the evaluation at
    /// the step too (it ran after the checkpoint was saved). The file is rewritten atomically.
    /// </summary>
    public static void TruncateAfter(string path, long step, bool evaluationsAtStep = false)
    {
        if (!File.Exists(path))
            return;
        bool Keep(JsonElement e)
        {
            if (!e.TryGetProperty("step", out var s)) return true;
            bool eval = e.TryGetProperty("event", out var name) && name.GetString() == "eval";
            return s.GetInt64() < step || (s.GetInt64() == step && !(eval && evaluationsAtStep));
        }
        var kept = Read(path).Where(Keep);
        var temp = path + ".tmp";
        using (var writer = new StreamWriter(temp, append: false, new UTF8Encoding(false)))
        {
            foreach (var element in kept)
                writer.Write(element.GetRawText() + "\n");
        }
        File.Move(temp, path, overwrite: true);
    }

    public void Dispose()
    {
        _stream.Dispose();
        _events?.Dispose();
    }

    /// <summary>The highest step of a metrics file's events; null when it has none.</summary>
    private static long? LastStep(string path)
    {
        long? last = null;
        foreach (var e in Read(path))
        {
            if (e.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt64() is var step && (last is null || step > last))
                last = step;
        }
        return last;
    }

    private void Write(string eventName, long step, Action<Utf8JsonWriter> fields)
    {
        _line.Clear();
        using (var json = new Utf8JsonWriter(_line, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("event", eventName);
            json.WriteString("time", _time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("step", step);
            fields(json);
            json.WriteEndObject();
        }
        _line.WriteByte((byte)'\n');
        _stream.Write(_line.Written);
        _stream.Flush();
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
    }

    /// <summary>A reusable in-memory line buffer, so that logging a step allocates little.</summary>
    private sealed class LineBuffer : MemoryStream
    {
        public ReadOnlySpan<byte> Written => GetBuffer().AsSpan(0, (int)Length);

        public void Clear() => SetLength(0);
    }
}

/// <param name="Step">Optimizer steps completed.</param>
/// <param name="Loss">Training loss of this step (mean over its micro-batches).</param>
/// <param name="LearningRate">Learning rate used by this step.</param>
/// <param name="GradNorm">Global gradient norm before clipping, when computed.</param>
/// <param name="TokensSeen">Training tokens consumed so far.</param>
/// <param name="TokensPerSecond">Throughput over the last logging interval.</param>
/// <param name="StepMilliseconds">Wall time of one step over the last logging interval.</param>
/// <param name="Mfu">Model FLOPs utilisation (0–1), on GPUs with a known peak.</param>
/// <param name="PeakMemoryMb">Peak accelerator memory allocated, on GPUs.</param>
/// <param name="AuxLoss">A mixture of experts' load-balancing loss of this step (not in <paramref name="Loss"/>).</param>
/// <param name="ZLoss">A mixture of experts' router z-loss of this step (not in <paramref name="Loss"/>).</param>
/// <param name="DroppedTokens">(Token, expert) assignments dropped for capacity since the last log line.</param>
/// <param name="DroppedFraction">Their share of the assignments routed since the last log line.</param>
public sealed record TrainMetrics(
    long Step, double Loss, double LearningRate, double? GradNorm, long TokensSeen, double TokensPerSecond,
    double StepMilliseconds, double? Mfu = null, double? PeakMemoryMb = null, double? AuxLoss = null, double? ZLoss = null,
    long? DroppedTokens = null, double? DroppedFraction = null);

/// <param name="Step">Optimizer steps completed when the evaluation ran.</param>
/// <param name="TokensSeen">Training tokens consumed so far.</param>
/// <param name="ValLoss">Mean validation loss (nats per token); perplexity is derived from it.</param>
/// <param name="TrainLoss">Mean loss on training batches drawn the same way, when measured.</param>
/// <param name="BitsPerByte">Validation bits per UTF-8 byte, comparable across tokenizers.</param>
/// <param name="ExpertLoad">A mixture of experts' share of the val tokens' assignments per layer and expert.</param>
/// <param name="ExpertBalance">The busiest expert's load over the mean, in the least balanced layer (1 is balanced).</param>
/// <param name="SourceValLoss">With several datasets: each one's validation loss, by name.</param>
public sealed record EvalMetrics(long Step, long TokensSeen, double ValLoss, double? TrainLoss = null, double? BitsPerByte = null,
    double[][]? ExpertLoad = null, double? ExpertBalance = null, IReadOnlyDictionary<string, double>? SourceValLoss = null);
