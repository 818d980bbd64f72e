namespace LlmTrainer.Data;

/// <summary>Reads the next line, turning an over-long line into a bad-input report that ends the file.</summary>
internal static class LineReading
{
    public static bool Next(ByteLineReader lines, ReadContext context, out ReadOnlyMemory<byte> line)
    {
        try
        {
            return lines.TryReadLine(out line);
        }
        catch (LineTooLongException e)
        {
            context.Bad(e.Line, $"line is longer than {context.Options.MaxDocumentBytes} bytes; the rest of the file is skipped");
            line = default;
            return false;
        }
    }
}
