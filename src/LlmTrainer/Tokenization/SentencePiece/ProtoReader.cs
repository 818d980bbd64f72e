using System.Buffers.Binary;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Reads the protocol buffers wire format (varints, 32/64-bit fixed, length-delimited), enough for SentencePiece's
/// <c>ModelProto</c>. Malformed input throws <see cref="LlmTrainerException"/> naming <c>where</c>.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _where;
    private int _at;

    public ProtoReader(ReadOnlySpan<byte> data, string where)
    {
        _data = data;
        _where = where;
        _at = 0;
    }

    public readonly bool AtEnd => _at >= _data.Length;

    /// <summary>The next field's number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        int field = (int)(tag >> 3);
        if (field <= 0 || tag >> 3 > int.MaxValue)
            throw Corrupt($"field number {tag >> 3} at byte {_at}");
        return (field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_at >= _data.Length)
                throw Corrupt("a number runs past the end of the file");
            byte b = _data[_at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw Corrupt($"a number longer than 10 bytes at byte {_at}");
    }

    public bool ReadBool() => ReadVarint() != 0;

    public int ReadInt32() => (int)ReadVarint();

    public float ReadFloat()
    {
        if (_at + 4 > _data.Length)
            throw Corrupt("a float runs past the end of the file");
        float v = BinaryPrimitives.ReadSingleLittleEndian(_data[_at..]);
        _at += 4;
        return v;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _at))
            throw Corrupt($"a field of {length} bytes runs past the end of the file");
        var bytes = _data.Slice(_at, (int)length);
        _at += (int)length;
        return bytes;
    }

    public string ReadString()
    {
        var bytes = ReadBytes();
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw Corrupt($"a string before byte {_at} is not valid UTF-8");
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadBytes(); break;
            case 5: Advance(4); break;
            default: throw Corrupt($"wire type {wireType} at byte {_at}");
        }
    }

    private void Advance(int n)
    {
        if (_at + n > _data.Length)
            throw Corrupt("a field runs past the end of the file");
        _at += n;
    }

    private readonly LlmTrainerException Corrupt(string what)
        => new($"{_where} is not a valid SentencePiece model ({what}); the file is damaged or not a tokenizer.model");
}
