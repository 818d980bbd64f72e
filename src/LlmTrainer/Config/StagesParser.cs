using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace LlmTrainer.Config;

/// <summary>
/// Reads the <c>stages</c> key, from a config file's JSON (which the configuration system hands over flattened into
/// sections) or from one JSON string on the command line or in an environment variable.
/// </summary>
internal static class StagesParser
{
    public const string Form =
        "stages is a list of {\"until\": STEP or \"N tokens\", \"data\": PATH or [{\"path\": ..., \"weight\": ...}]} objects, the last one without until";

    /// <param name="text">The value when one layer gave the whole list as a string; null to read the <c>stages</c> section of <paramref name="root"/>.</param>
    public static DataStages? Bind(IConfigurationRoot root, string? text, List<ConfigError> errors)
    {
        JsonNode? node;
        if (text is not null)
        {
            // A config file's empty list reaches here as an empty string.
            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add(new ConfigError("stages", $"is empty; {Form}."));
                return null;
            }
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                errors.Add(new ConfigError("stages", $"'{text}' is not JSON ({e.Message}); {Form}."));
                return null;
            }
        }
        else
        {
            node = FromSection(root.GetSection("stages"), root.Providers.ToList());
        }
        return Parse(node, errors);
    }

    public static DataStages? Parse(JsonNode? node, List<ConfigError> errors)
    {
        if (node is not JsonArray list || list.Count == 0)
        {
            errors.Add(new ConfigError("stages", node is JsonArray ? $"is empty; {Form}." : $"is not a list; {Form}."));
            return null;
        }
        var stages = new List<DataStage>();
        for (int i = 0; i < list.Count; i++)
        {
            string where = $"stage {i + 1}";
            if (list[i] is not JsonObject stage)
            {
                errors.Add(new ConfigError("stages", $"{where} is not an object; {Form}."));
                return null;
            }
            var unknown = stage.FirstOrDefault(p => p.Key is not ("until" or "data"));
            if (unknown.Key is not null)
            {
                errors.Add(new ConfigError("stages", $"{where} has an unknown field '{unknown.Key}'; {Form}."));
                return null;
            }
            StageEnd? until = null;
            if (stage["until"] is { } untilNode)
            {
                until = Scalar(untilNode) is { } untilText ? StageEnd.Parse(untilText) : null;
                if (until is null)
                {
                    errors.Add(new ConfigError("stages",
                        $"{where} has until {untilNode.ToJsonString()}, which is not a whole positive count; write a step such as 3000, or tokens such as \"500M tokens\"."));
                    return null;
                }
            }
            var data = Data(stage["data"], where, errors);
            if (data is null)
                return null;
            stages.Add(new DataStage(until, data));
        }
        return new DataStages(stages);
    }

    /// <summary>A stage's data: a path, or a list of paths and <c>{"path", "weight"}</c> objects.</summary>
    private static DataSpec? Data(JsonNode? node, string where, List<ConfigError> errors)
    {
        if (node is null)
        {
            errors.Add(new ConfigError("stages", $"{where} has no data; {Form}."));
            return null;
        }
        if (Scalar(node) is { } path)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                // An empty path, or a config file's empty list (which reaches here as an empty string).
                errors.Add(new ConfigError("stages", $"{where} data is empty; give the directory of prepared data, or a list of them."));
                return null;
            }
            return DataSpec.FromPath(path.Trim());
        }
        if (node is not JsonArray entries || entries.Count == 0)
        {
            errors.Add(new ConfigError("stages", $"{where} data is {(node is JsonArray ? "an empty list" : "not a path or a list")}; {Form}."));
            return null;
        }
        var sources = new List<DataSource>();
        for (int j = 0; j < entries.Count; j++)
        {
            string entry = $"{where} data entry {j}";
            if (entries[j] is { } e && Scalar(e) is { } p)
            {
                sources.Add(new DataSource(p.Trim(), 1.0));
                continue;
            }
            if (entries[j] is not JsonObject fields)
            {
                errors.Add(new ConfigError("stages", $"{entry} is not a path or a {{\"path\": ..., \"weight\": ...}} object."));
                return null;
            }
            var unknown = fields.FirstOrDefault(f => f.Key is not ("path" or "weight"));
            if (unknown.Key is not null)
            {
                errors.Add(new ConfigError("stages", $"{entry} has an unknown field '{unknown.Key}'; each entry is {{\"path\": ..., \"weight\": ...}}."));
                return null;
            }
            if ((fields["path"] is { } pathNode ? Scalar(pathNode) : null) is not { Length: > 0 } entryPath || string.IsNullOrWhiteSpace(entryPath))
            {
                errors.Add(new ConfigError("stages", $"{entry} has no path; each entry is {{\"path\": ..., \"weight\": ...}}."));
                return null;
            }
            double weight = 1.0;
            if (fields["weight"] is { } weightNode
                && (Scalar(weightNode) is not { } weightText || !double.TryParse(weightText, NumberStyles.Float, CultureInfo.InvariantCulture, out weight)))
            {
                errors.Add(new ConfigError("stages", $"{entry} ('{entryPath}') has weight {weightNode.ToJsonString()}, which is not a number; use a positive number such as 0.5."));
                return null;
            }
            sources.Add(new DataSource(entryPath.Trim(), weight));
        }
        return DataSpec.Mixture(sources);
    }

    /// <summary>A string or number as text (the configuration system gives every value as a string); null for lists and objects.</summary>
    private static string? Scalar(JsonNode node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => null,
        }
        : null;

    /// <summary>
    /// A configuration section back as JSON: children numbered 0, 1, … form a list, others an object, a leaf a string.
    /// Where one layer gives a value (<c>--stages:0:data PATH</c>) and another a list or object in its place, the later
    /// layer's wins, as it does for every other key.
    /// </summary>
    private static JsonNode? FromSection(IConfigurationSection section, IReadOnlyList<IConfigurationProvider> providers)
    {
        var children = section.GetChildren().ToList();
        if (section.Value is not null && (children.Count == 0 || ValueIsLater(section.Path, providers)))
            return JsonValue.Create(section.Value);
        if (children.Count == 0)
            return null;
        if (children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            var list = new JsonArray();
            foreach (var child in children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)))
                list.Add(FromSection(child, providers));
            return list;
        }
        var obj = new JsonObject();
        foreach (var child in children)
            obj[child.Key] = FromSection(child, providers);
        return obj;
    }

    /// <summary>Whether the last layer that sets <paramref name="path"/> itself comes after the last that sets anything under it.</summary>
    private static bool ValueIsLater(string path, IReadOnlyList<IConfigurationProvider> providers)
    {
        int value = -1, children = -1;
        for (int i = 0; i < providers.Count; i++)
        {
            if (providers[i].TryGet(path, out var v) && v is not null) value = i;
            if (providers[i].GetChildKeys([], path).Any()) children = i;
        }
        return value > children;
    }
}
