using System.Text;
using System.Text.Json;

namespace LlmTrainer.Data;

/// <summary>
/// A JSON array of objects with the document in one string field (TinyStories shards: <c>[{"story": …}, …]</c>).
/// Streams with <see cref="Utf8JsonReader"/> over a sliding buffer, so only the current value is ever in memory.
/// </summary>
internal sealed class JsonArrayParser
{
    private enum Phase { Start, InArray, InObject, PropertyValue, Skipping, Done }

    private readonly ReadContext _context;
    private readonly string _field;
    private readonly byte[] _fieldUtf8;
    private Phase _phase = Phase.Start;
    private Phase _afterSkip;
    private int _skipDepth;
    private bool _isField;
    private bool _found;
    private string? _text;
    private long _objectLine;
    private long _line = 1;
    private bool _malformed;

    private JsonArrayParser(string field, ReadContext context)
    {
        _field = field;
        _fieldUtf8 = Encoding.UTF8.GetBytes(field);
        _context = context;
    }

    public static IEnumerable<Document> Parse(Stream stream, string field, ReadContext context)
        => new JsonArrayParser(field, context).Run(stream);

    private IEnumerable<Document> Run(Stream stream)
    {
        byte[] buffer = new byte[1 << 16];
        int filled = 0;
        bool final = false;
        var state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var ready = new List<Document>();
        bool bomChecked = false;
        while (true)
        {
            if (!final)
            {
                int n = stream.Read(buffer, filled, buffer.Length - filled);
                filled += n;
                final = n == 0;
            }
            int start = 0;
            if (!bomChecked && (filled >= 3 || final))
            {
                bomChecked = true;
                if (buffer.AsSpan(0, filled).StartsWith("\uFEFF"u8))
                    start = 3;
            }
            if (!bomChecked)
                continue;
            int consumed = start + Step(buffer.AsSpan(start, filled - start), final, ref state, ready);
            foreach (var d in ready)
                yield return d;
            ready.Clear();
            if (_malformed || _phase == Phase.Done && final)
                yield break;
            if (final)
            {
                if (filled - consumed > 0 || _phase != Phase.Done)
                    Report(_line, _phase == Phase.Start ? "no JSON array found (empty file?)" : "unexpected end of file inside the JSON array");
                yield break;
            }
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;
            if (filled == buffer.Length)
            {
                if (buffer.Length >= _context.Options.MaxDocumentBytes)
                {
                    Report(_line, $"a JSON value is longer than {_context.Options.MaxDocumentBytes} bytes; the rest of the file is skipped");
                    yield break;
                }
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, _context.Options.MaxDocumentBytes));
            }
        }
    }

    /// <summary>Processes every complete token in <paramref name="data"/>; returns the bytes consumed.</summary>
    private int Step(ReadOnlySpan<byte> data, bool final, ref JsonReaderState state, List<Document> ready)
    {
        var reader = new Utf8JsonReader(data, final, state);
        int counted = 0;
        try
        {
            while (reader.Read())
            {
                int tokenStart = (int)reader.TokenStartIndex;
                _line += data[counted..tokenStart].Count((byte)'\n');
                counted = tokenStart;
                Handle(ref reader, ready);
            }
        }
        catch (JsonException e)
        {
            // The reader carries line numbers across buffers in its state, so its line is the file's line.
            _malformed = true;
            Report((e.LineNumber ?? (_line - 1)) + 1, $"malformed JSON ({JsonErrors.WithoutPosition(e)}); the rest of the file is skipped");
            return data.Length;
        }
        int consumed = (int)reader.BytesConsumed;
        _line += data[counted..consumed].Count((byte)'\n');
        state = reader.CurrentState;
        return consumed;
    }

    private void Handle(ref Utf8JsonReader reader, List<Document> ready)
    {
        var token = reader.TokenType;
        switch (_phase)
        {
            case Phase.Start:
                if (token != JsonTokenType.StartArray)
                {
                    Report(_line, $"expected a JSON array of objects, found {JsonLinesParser.Describe(token)} (for one object per line use --format jsonl)");
                    Skip(ref reader, Phase.Done);
                }
                else
                {
                    _phase = Phase.InArray;
                }
                break;
            case Phase.InArray:
                if (token == JsonTokenType.EndArray)
                {
                    _phase = Phase.Done;
                }
                else if (token == JsonTokenType.StartObject)
                {
                    _phase = Phase.InObject;
                    _objectLine = _line;
                    _found = false;
                    _text = null;
                }
                else
                {
                    Report(_line, $"array element is {JsonLinesParser.Describe(token)}, not an object");
                    Skip(ref reader, Phase.InArray);
                }
                break;
            case Phase.InObject:
                if (token == JsonTokenType.PropertyName)
                {
                    _isField = reader.ValueTextEquals(_fieldUtf8);
                    _phase = Phase.PropertyValue;
                }
                else
                {
                    _phase = Phase.InArray;
                    if (!_found)
                        Report(_objectLine, $"object has no \"{_field}\" field (choose the field with --text-field)");
                    else if (_text is { Length: > 0 })
                        ready.Add(new Document(_text, _context.File, _objectLine));
                }
                break;
            case Phase.PropertyValue:
                if (_isField && !_found)
                {
                    _found = true;
                    if (token != JsonTokenType.String)
                        Report(_line, $"field \"{_field}\" is {JsonLinesParser.Describe(token)}, not a string");
                    else if (Utf8Text.GetString(ref reader, _context) is string value)
                        _text = value.Trim();
                    else
                        Report(_line, $"field \"{_field}\" holds invalid UTF-8 inside an escape sequence");
                }
                _phase = Phase.InObject;
                Skip(ref reader, Phase.InObject);
                break;
            case Phase.Skipping:
                if ((token == JsonTokenType.EndObject || token == JsonTokenType.EndArray) && reader.CurrentDepth == _skipDepth)
                    _phase = _afterSkip;
                break;
            case Phase.Done:
                break;
        }
    }

    /// <summary>Skips the value that starts at the current token, continuing in <paramref name="after"/> once it ends.</summary>
    private void Skip(ref Utf8JsonReader reader, Phase after)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            _skipDepth = reader.CurrentDepth;
            _afterSkip = after;
            _phase = Phase.Skipping;
        }
        else
        {
            _phase = after;
        }
    }

    private void Report(long line, string problem)
    {
        // A field of the wrong type makes the whole object bad: don't emit its document.
        _found = true;
        _text = null;
        _context.Bad(line, problem);
    }
}
