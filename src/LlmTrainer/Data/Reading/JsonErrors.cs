using System.Text.Json;

namespace LlmTrainer.Data;

internal static class JsonErrors
{
    /// <summary>The reader's message without its own "LineNumber: … | BytePositionInLine: …" suffix; the caller names the line.</summary>
    public static string WithoutPosition(JsonException e)
    {
        string message = e.Message;
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at >= 0 ? message[..at] : message).TrimEnd('.', ' ');
    }
}
