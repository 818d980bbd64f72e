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

    private const string DataFix = "give a directory of prepared data, or a list of them (paths or {\"path\": ..., \"weight\": ...} objects)";

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
            node = DataSpecParser.FromSection(root.GetSection("stages"), root.Providers.ToList());
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
                until = DataSpecParser.Scalar(untilNode) is { } untilText ? StageEnd.Parse(untilText) : null;
                if (until is null)
                {
                    errors.Add(new ConfigError("stages",
                        $"{where} has until {untilNode.ToJsonString()}, which is not a whole positive count; write a step such as 3000, or tokens such as \"500M tokens\"."));
                    return null;
                }
            }
            if (stage["data"] is not { } dataNode)
            {
                errors.Add(new ConfigError("stages", $"{where} has no data; {Form}."));
                return null;
            }
            var data = DataSpecParser.Parse(dataNode, "stages", $"{where} data ", DataFix, errors);
            if (data is null)
                return null;
            stages.Add(new DataStage(until, data));
        }
        return new DataStages(stages);
    }
}
