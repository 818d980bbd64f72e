using System.Buffers;

namespace LlmTrainer.Data;

/// <summary>
/// TinyStories text: documents separated by <c>&lt;|endoftext|&gt;</c>, normally on a line of its own
/// (a separator inside a line splits there too). Lines of a document keep their line breaks.
/// </summary>
internal static class TextDocumentParser
{
    private static ReadOnlySpan<byte> Separator => "<|endoftext|>"u8;

    public static IEnumerable<Document> Parse(Stream stream, ReadContext context)
    {
        var lines = new ByteLineReader(stream, context.Options.MaxDocumentBytes);
        var document = new ArrayBufferWriter<byte>(1 << 12);
        long documentLine = 0;
        bool discarding = false;
        var ready = new List<Document>();
        while (LineReading.Next(lines, context, out var line))
        {
            Split(line.Span, lines.LineNumber, context, document, ref documentLine, ref discarding, ready);
            foreach (var d in ready)
                yield return d;
            ready.Clear();
        }
        if (Flush(context, document, documentLine, ref discarding) is Document last)
            yield return last;
    }

    private static void Split(ReadOnlySpan<byte> line, long lineNumber, ReadContext context, ArrayBufferWriter<byte> document,
        ref long documentLine, ref bool discarding, List<Document> ready)
    {
        while (true)
        {
            int at = line.IndexOf(Separator);
            var part = at < 0 ? line : line[..at];
            if (!discarding && (document.WrittenCount > 0 || part.IndexOfAnyExcept(" \t\r\f\v"u8) >= 0))
            {
                if (document.WrittenCount == 0)
                    documentLine = lineNumber;
                if (document.WrittenCount + part.Length + 1 > context.Options.MaxDocumentBytes)
                {
                    context.Bad(documentLine,
                        $"document is longer than {context.Options.MaxDocumentBytes} bytes with no <|endoftext|> separator; " +
                        "is this really TinyStories-format text? (--format forces another format)");
                    document.ResetWrittenCount();
                    discarding = true;
                }
                else
                {
                    if (document.WrittenCount > 0)
                        document.Write("\n"u8);
                    document.Write(part);
                }
            }
            if (at < 0)
                return;
            if (Flush(context, document, documentLine, ref discarding) is Document d)
                ready.Add(d);
            line = line[(at + Separator.Length)..];
        }
    }

    private static Document? Flush(ReadContext context, ArrayBufferWriter<byte> document, long line, ref bool discarding)
    {
        discarding = false;
        if (document.WrittenCount == 0)
            return null;
        var bytes = document.WrittenSpan.Trim(" \t\r\n"u8);
        string text = bytes.IsEmpty ? "" : Utf8Text.Decode(bytes, context).Trim();
        document.ResetWrittenCount();
        return text.Length == 0 ? null : new Document(text, context.File, line);
    }
}
