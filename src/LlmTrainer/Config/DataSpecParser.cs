using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace LlmTrainer.Config;

/// <summary>
/// Reads a data value — a path, or a list of paths and <c>{"path": ..., "weight": ...}</c> objects — as JSON, for the
/// <c>data</c> key and for each stage of <c>stages</c>. A config file's lists reach the configuration system flattened
/// into sections; <see cref="FromSection"/> puts them back together, so that every layer reads the same way.
/// </summary>
internal static class DataSpecParser
{
    /// <param name="key">The key that errors are reported under.</param>
    /// <param name="at">Where in the key the value is ("stage 2 data "), before each message.</param>
    /// <param name="fix">What a good value looks like, for messages about the value as a whole.</param>
    public static DataSpec? Parse(JsonNode? node, string key, string at, string fix, List<ConfigError> errors)
    {
        DataSpec? Fail(string message)
        {
            errors.Add(new ConfigError(key, at + message));
            return null;
        }

        // A config file's null, or its empty list (which the configuration system hands over as an empty string), is empty.
        if (node is null || Scalar(node) is { } path && string.IsNullOrWhiteSpace(path))
            return Fail($"is empty; {fix}.");
        if (Scalar(node) is { } single)
            return DataSpec.FromPath(single.Trim());
        if (node is not JsonArray entries)
            return Fail($"is not a path or a list; {fix}.");
        if (entries.Count == 0)
            return Fail($"is an empty list; {fix}.");
        const string entryForm = "each entry is {\"path\": ..., \"weight\": ...}";
        var sources = new List<DataSource>();
        for (int j = 0; j < entries.Count; j++)
        {
            if (entries[j] is { } item && Scalar(item) is { } itemPath)
            {
                if (string.IsNullOrWhiteSpace(itemPath))
                    return Fail($"entry {j} is empty; {fix}.");
                sources.Add(new DataSource(itemPath.Trim(), 1.0));
                continue;
            }
            if (entries[j] is not JsonObject fields)
                return Fail($"entry {j} is not a path or a {{\"path\": ..., \"weight\": ...}} object.");
            var unknown = fields.FirstOrDefault(f => f.Key is not ("path" or "weight"));
            if (unknown.Key is not null)
                return Fail($"entry {j} has an unknown field '{unknown.Key}'; {entryForm}.");
            if ((fields["path"] is { } pathNode ? Scalar(pathNode) : null) is not { } entryPath || string.IsNullOrWhiteSpace(entryPath))
                return Fail($"entry {j} has no path; {entryForm}.");
            double weight = 1.0;
            if (fields["weight"] is { } weightNode
                && (Scalar(weightNode) is not { } weightText || !double.TryParse(weightText, NumberStyles.Float, CultureInfo.InvariantCulture, out weight)))
                return Fail($"entry {j} ('{entryPath}') has weight '{Scalar(weightNode) ?? weightNode.ToJsonString()}', which is not a number; use a positive number such as 0.5.");
            sources.Add(new DataSource(entryPath.Trim(), weight));
        }
        return DataSpec.Mixture(sources);
    }

    /// <summary>A string or number as text (the configuration system gives every value as a string); null for lists and objects.</summary>
    public static string? Scalar(JsonNode node) => node is JsonValue value
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
    public static JsonNode? FromSection(IConfigurationSection section, IReadOnlyList<IConfigurationProvider> providers)
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
