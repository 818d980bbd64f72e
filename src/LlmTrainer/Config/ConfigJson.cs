using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LlmTrainer.Config;

/// <summary>
/// The resolved config as JSON: the run's <c>config.json</c> and the start-of-run printout. The output
/// loads back through <see cref="ConfigLoader"/> to an equal config.
/// </summary>
public static class ConfigJson
{
    /// <summary>
    /// Keys that do not change what training computes: where it writes, how often it reports, what it
    /// is called, whether activations are kept or recomputed. They are left out of <see cref="Hash"/>, so a resumed
    /// run may change them (e.g. turn on activation_checkpointing after running out of memory).
    /// </summary>
    public static readonly IReadOnlyList<string> OperationalKeys =
        ["name", "out_dir", "device", "log_interval", "eval_interval", "eval_iters", "checkpoint_interval", "activation_checkpointing"];

    /// <summary>The keys that apply to the config's model: a dense model's has no MoE keys, an explicit ffn_hidden no multiple_of.</summary>
    public static string Render(TrainConfig config) => Render(config, _ => true);

    /// <summary>
    /// SHA-256 (hex) of the rendering without <see cref="OperationalKeys"/>: two configs with the same hash
    /// train the same model on the same data with the same schedule.
    /// </summary>
    public static string Hash(TrainConfig config)
    {
        var text = Render(config, key => !OperationalKeys.Contains(key));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>A value as it is written on the command line (numbers in invariant culture, booleans lower-case).</summary>
    public static string FormatValue(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Render(TrainConfig config, Func<string, bool> include)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            foreach (var key in ConfigKeys.All.Where(k => include(k.Name) && k.UnusedIn(config) is null))
            {
                json.WritePropertyName(key.Name);
                WriteValue(json, key.Get(config));
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteValue(Utf8JsonWriter json, object value)
    {
        switch (value)
        {
            case int i:
                json.WriteNumberValue(i);
                break;
            case long l:
                json.WriteNumberValue(l);
                break;
            case double d:
                json.WriteNumberValue(d);
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case string s:
                json.WriteStringValue(s);
                break;
            case DataSpec { IsMixture: true } data:
                json.WriteStartArray();
                foreach (var source in data.Sources)
                {
                    json.WriteStartObject();
                    json.WriteString("path", source.Path);
                    json.WriteNumber("weight", source.Weight);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            case DataSpec data:
                json.WriteStringValue(data.ToString());
                break;
            case DataStages stages:
                json.WriteStartArray();
                foreach (var stage in stages.Items)
                {
                    json.WriteStartObject();
                    if (stage.Until is { InTokens: false } steps)
                        json.WriteNumber("until", steps.Value);
                    else if (stage.Until is { } tokens)
                        json.WriteString("until", tokens.ToString());
                    json.WritePropertyName("data");
                    WriteValue(json, stage.Data);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                break;
            default:
                throw new ArgumentException($"no JSON form for {value.GetType()}", nameof(value));
        }
    }
}
