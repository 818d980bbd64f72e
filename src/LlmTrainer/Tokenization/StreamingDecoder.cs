using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Turns ids into text as they arrive. A character whose UTF-8 bytes are split across tokens (common for
/// emoji and CJK) is held back until its last byte arrives, so printed output never shows a broken
/// character that later tokens would have completed. The text is the same as <see cref="Tokenizer.Decode"/>
/// of all the ids. Not thread-safe: one per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly Decoder? _decoder;
    private readonly List<byte> _pending = [];
    private readonly StringBuilder _text = new();
    private char[] _chars = new char[64];
    private bool _atStart;

    internal StreamingDecoder(Tokenizer tokenizer, bool atStart)
    {
        _tokenizer = tokenizer;
        _atStart = atStart;
        if (!tokenizer.ReplacesEachInvalidByte)
            _decoder = Encoding.UTF8.GetDecoder();
    }

    /// <summary>The text completed by <paramref name="id"/>; empty while a character is still incomplete.</summary>
    public string Push(int id) => Convert(_tokenizer.DecodeToken(id, ref _atStart), flush: false);

    /// <summary>Ends the stream: bytes still held back (an incomplete character) come out as U+FFFD.</summary>
    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        if (_decoder is null)
        {
            // One U+FFFD per invalid byte, as SentencePiece decodes: .NET's Decoder would give one per invalid sequence.
            _pending.AddRange(bytes);
            _text.Clear();
            var all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
            int used = Utf8Text.Append(all, _text, flush);
            _pending.RemoveRange(0, used);
            return _text.ToString();
        }
        int needed = _decoder.GetCharCount(bytes, flush);
        if (needed > _chars.Length)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _decoder.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, n);
    }
}
