using System.Text.Json;

namespace LlmTrainer.Data;

/// <summary>JSON Lines: one object per line, the document in a top-level string field. Blank lines are ignored.</summary>
internal static class JsonLinesParser
{
    public static IEnumerable<Document> Parse(Stream stream, string field, ReadContext context)
    {
        var lines = new ByteLineReader(stream, context.Options.MaxDocumentBytes);
        byte[] fieldUtf8 = System.Text.Encoding.UTF8.GetBytes(field);
        while (LineReading.Next(lines, context, out var line))
        {
            var span = line.Span;
            if (span.IndexOfAnyExcept(" \t\r\f\v"u8) < 0)
                continue;
            string? text = ParseLine(span, fieldUtf8, field, lines.LineNumber, context);
            if (text is not null && text.Length > 0)
                yield return new Document(text, context.File, lines.LineNumber);
        }
    }

    /// <summary>The trimmed text of the field; null when the line is bad (and skipped).</summary>
    private static string? ParseLine(ReadOnlySpan<byte> line, byte[] field, string fieldName, long lineNumber, ReadContext context)
    {
        string? text = null;
        bool found = false;
        string? problem = null;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                problem = $"expected a JSON object, found {Describe(reader.TokenType)}";
            }
            else
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isField = reader.ValueTextEquals(field);
                    reader.Read();
                    if (isField && !found)
                    {
                        found = true;
                        if (reader.TokenType != JsonTokenType.String)
                            problem = $"field \"{fieldName}\" is {Describe(reader.TokenType)}, not a string";
                        else if (Utf8Text.GetString(ref reader, context) is string value)
                            text = value.Trim();
                        else
                            problem = $"field \"{fieldName}\" holds invalid UTF-8 inside an escape sequence";
                    }
                    reader.Skip();
                }
                // Reads to the end so that trailing garbage on the line is reported too.
                while (reader.Read())
                {
                }
            }
        }
        catch (JsonException e)
        {
            problem = $"malformed JSON ({JsonErrors.WithoutPosition(e)})";
        }
        if (problem is null && !found)
            problem = $"no \"{fieldName}\" field (choose the field with --text-field)";
        if (problem is not null)
        {
            context.Bad(lineNumber, problem);
            return null;
        }
        return text;
    }

    internal static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
