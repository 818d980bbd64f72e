namespace LlmTrainer.Data;

/// <summary>
/// Checks the page headers of a Parquet column chunk before the library reads it, so that a damaged size or count
/// is an error instead of an allocation of that size: each page must lie inside the chunk, its uncompressed size
/// must fit in the chunk's, and its value count in the row group's rows. The headers are Thrift compact-protocol
/// structs: fields 1–3 are the page type and sizes, 5/7/8 the data, dictionary and v2 headers whose field 1 is the
/// value count; everything else is skipped.
/// </summary>
internal static class ParquetPageCheck
{
    private const int MaxDepth = 32;

    /// <summary>Throws <see cref="InvalidDataException"/> when a page header of the chunk [start, start+length) is out of bounds.</summary>
    public static void Check(Stream stream, long start, long length, long uncompressedTotal, long rows)
    {
        long end = start + length;
        if (start < 4 || length < 0 || end > stream.Length)
            throw new InvalidDataException($"column chunk at {start} (+{length}) lies outside the {stream.Length}-byte file");
        long position = start;
        long uncompressedSeen = 0;
        while (position < end)
        {
            stream.Position = position;
            var header = new Header();
            ReadStruct(stream, end, 0, header, top: true);
            if (header.Compressed < 0 || header.Uncompressed < 0)
                throw new InvalidDataException($"page at {position}: negative size");
            long pageEnd = stream.Position + header.Compressed;
            if (pageEnd > end)
                throw new InvalidDataException($"page at {position}: {header.Compressed} bytes run past its column chunk");
            uncompressedSeen += header.Uncompressed;
            if (uncompressedSeen > uncompressedTotal + (1L << 20))
                throw new InvalidDataException($"page at {position}: {header.Uncompressed} bytes uncompressed exceed the column chunk's {uncompressedTotal}");
            if (header.Values < 0 || header.Values > rows + 1)
                throw new InvalidDataException($"page at {position}: {header.Values} values in a row group of {rows} rows");
            position = pageEnd;
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> unless the file starts and ends with the magic bytes and its footer
    /// (the file metadata) is one well-formed compact-protocol struct that fills the footer exactly. Walking it here,
    /// bounded by its length, keeps a damaged count or field type from sending the library's decoder into a loop.
    /// </summary>
    public static void CheckFooter(Stream stream)
    {
        long length = stream.Length;
        if (length < 12)
            throw new InvalidDataException($"{length} bytes is too short for a Parquet file");
        Span<byte> tail = stackalloc byte[8];
        Span<byte> head = stackalloc byte[4];
        stream.Position = 0;
        stream.ReadExactly(head);
        stream.Position = length - 8;
        stream.ReadExactly(tail);
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8))
            throw new InvalidDataException("no PAR1 magic bytes at the start and end of the file");
        long footer = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > length - 12)
            throw new InvalidDataException($"a footer of {footer} bytes in a {length}-byte file");
        long start = length - 8 - footer, end = length - 8;
        stream.Position = start;
        ReadStruct(stream, end, 0, null, top: false);
        if (stream.Position != end)
            throw new InvalidDataException($"the footer's metadata ends {end - stream.Position} bytes before the footer does");
        stream.Position = 0;
    }

    private sealed class Header
    {
        public long Uncompressed = -1, Compressed = -1, Values;
    }

    private static void ReadStruct(Stream s, long end, int depth, Header? header, bool top)
    {
        if (depth > MaxDepth)
            throw new InvalidDataException("page header nested too deeply");
        short id = 0;
        while (NextField(s, end, ref id, out int type))
        {
            if (top && header is not null && id is 2 or 3 && type == 5)
            {
                long value = ZigZag(Varint(s, end));
                if (id == 2) header.Uncompressed = value;
                else header.Compressed = value;
            }
            else if (top && header is not null && id is 5 or 7 or 8 && type == 12)
            {
                // The first field of the data, dictionary and v2 page headers is the value count.
                ReadCount(s, end, depth + 1, header);
            }
            else
            {
                Skip(s, end, type, depth + 1);
            }
        }
    }

    /// <summary>The next field header of a compact-protocol struct: its id (a delta from the last one, or given in full) and type; false at the struct's end.</summary>
    private static bool NextField(Stream s, long end, ref short id, out int type)
    {
        int b = Byte(s, end);
        type = b & 0x0F;
        if (type == 0)
            return false;
        int delta = b >> 4;
        id = delta != 0 ? (short)(id + delta) : (short)ZigZag(Varint(s, end));
        return true;
    }

    private static void ReadCount(Stream s, long end, int depth, Header header)
    {
        short id = 0;
        while (NextField(s, end, ref id, out int type))
        {
            if (id == 1 && type == 5)
                header.Values = ZigZag(Varint(s, end));
            else
                Skip(s, end, type, depth);
        }
    }

    private static void Skip(Stream s, long end, int type, int depth)
    {
        if (depth > MaxDepth)
            throw new InvalidDataException("metadata nested too deeply");
        switch (type)
        {
            case 1 or 2:
                return;
            case 3:
                Byte(s, end);
                return;
            case 4 or 5 or 6:
                Varint(s, end);
                return;
            case 7:
                Advance(s, end, 8);
                return;
            case 8:
                Advance(s, end, Varint(s, end));
                return;
            case 9 or 10:
            {
                int b = Byte(s, end);
                long size = b >> 4 == 15 ? Varint(s, end) : b >> 4;
                int element = b & 0x0F;
                // Every element takes at least one byte: a count beyond the bytes left is damage.
                if (size < 0 || size > end - s.Position)
                    throw new InvalidDataException($"a list of {size} elements in {end - s.Position} bytes");
                for (long i = 0; i < size; i++)
                {
                    if (element is 1 or 2)
                        Byte(s, end);
                    else
                        Skip(s, end, element, depth + 1);
                }
                return;
            }
            case 11:
            {
                long size = Varint(s, end);
                if (size == 0)
                    return;
                if (size < 0 || size > end - s.Position)
                    throw new InvalidDataException($"a map of {size} entries in {end - s.Position} bytes");
                int types = Byte(s, end);
                for (long i = 0; i < size; i++)
                {
                    Skip(s, end, types >> 4, depth + 1);
                    Skip(s, end, types & 0x0F, depth + 1);
                }
                return;
            }
            case 12:
                ReadStruct(s, end, depth, null, top: false);
                return;
            default:
                throw new InvalidDataException($"page header field of unknown type {type}");
        }
    }

    private static void Advance(Stream s, long end, long count)
    {
        if (count < 0 || s.Position + count > end)
            throw new InvalidDataException("page header runs past its column chunk");
        s.Position += count;
    }

    private static int Byte(Stream s, long end)
    {
        if (s.Position >= end)
            throw new InvalidDataException("page header runs past its column chunk");
        int b = s.ReadByte();
        if (b < 0)
            throw new InvalidDataException("page header cut short by the end of the file");
        return b;
    }

    private static long Varint(Stream s, long end)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            int b = Byte(s, end);
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return (long)value;
        }
        throw new InvalidDataException("page header holds an over-long number");
    }

    private static long ZigZag(long n) => (long)((ulong)n >> 1) ^ -(n & 1);
}
