using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Turns ids into text as they arrive. A character whose UTF-8 bytes are split across tokens (common for
/// emoji and CJK) is held back until its last byte arrives, so printed output never shows a broken
/// character that later tokens would have completed. Not thread-safe: one per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private char[] _chars = new char[64];

    internal StreamingDecoder(Tokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>The text completed by <paramref name="id"/>; empty while a character is still incomplete.</summary>
    public string Push(int id) => Convert(_tokenizer.Bytes(id), flush: false);

    /// <summary>Ends the stream: bytes still held back (an incomplete character) come out as U+FFFD.</summary>
    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _chars.Length)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _decoder.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, n);
    }
}
