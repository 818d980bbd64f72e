namespace LlmTrainer.Data;

/// <summary>
/// Reads a stream line by line as raw UTF-8 bytes (no per-line string), with a cap on line length so that
/// input without line breaks cannot exhaust memory. Strips "\r\n" and a leading byte-order mark.
/// </summary>
internal sealed class ByteLineReader
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _first = true;

    public ByteLineReader(Stream stream, int maxLineBytes)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its terminator, valid until the next call; false at the end of the stream.</summary>
    /// <exception cref="LineTooLongException">A line exceeds the cap.</exception>
    public bool TryReadLine(out ReadOnlyMemory<byte> line)
    {
        int scanned = 0;
        while (true)
        {
            int newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int lineEnd = _start + scanned + newline;
                line = Finish(_start, lineEnd);
                _start = lineEnd + 1;
                return true;
            }
            if (_eof)
            {
                if (_start == _end)
                {
                    line = default;
                    return false;
                }
                line = Finish(_start, _end);
                _start = _end;
                return true;
            }
            scanned = _end - _start;
            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _maxLineBytes)
                throw new LineTooLongException(LineNumber + 1, _maxLineBytes);
            Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _maxLineBytes));
        }
        int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0)
            _eof = true;
        _end += n;
    }

    private ReadOnlyMemory<byte> Finish(int start, int end)
    {
        LineNumber++;
        if (end - start > _maxLineBytes)
            throw new LineTooLongException(LineNumber, _maxLineBytes);
        if (end > start && _buffer[end - 1] == '\r')
            end--;
        if (_first)
        {
            _first = false;
            if (end - start >= 3 && _buffer[start] == 0xEF && _buffer[start + 1] == 0xBB && _buffer[start + 2] == 0xBF)
                start += 3;
        }
        return _buffer.AsMemory(start, end - start);
    }
}

/// <summary>A line longer than the reader accepts.</summary>
internal sealed class LineTooLongException(long line, int maxBytes) : Exception($"line {line} is longer than {maxBytes} bytes")
{
    public long Line { get; } = line;
}
