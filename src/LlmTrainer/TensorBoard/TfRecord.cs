using System.Buffers.Binary;
using System.Numerics;

namespace LlmTrainer.TensorBoard;

/// <summary>
/// TFRecord framing, the container of TensorBoard's event files: each record is its length (uint64, little-endian),
/// the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data.
/// </summary>
public static class TfRecord
{
    /// <summary>TensorFlow's mask, so that a CRC of data that itself holds CRCs does not degenerate.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    /// <summary>CRC-32C (Castagnoli), as TFRecord uses: hardware instructions where the processor has them.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>One framed record of <paramref name="data"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), MaskedCrc(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), MaskedCrc(data));
        return record;
    }

    /// <summary>
    /// Every record of a TFRecord file, with both CRCs of each checked. A record cut short at the end (the writer died
    /// while writing it) ends the list, as TensorBoard's reader treats it; a wrong CRC anywhere is an error naming the offset.
    /// </summary>
    public static List<byte[]> ReadAll(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<byte[]>();
        long at = 0;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 12) break;
            var header = bytes.AsSpan((int)at, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)at + 8, 4));
            if (lengthCrc != MaskedCrc(header))
                throw new LlmTrainerException($"{path}: the length CRC of the record at byte {at} does not match; the file is damaged.");
            if (length > (ulong)(bytes.Length - at - 16)) break;
            var data = bytes.AsSpan((int)at + 12, (int)length);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)at + 12 + (int)length, 4));
            if (dataCrc != MaskedCrc(data))
                throw new LlmTrainerException($"{path}: the data CRC of the record at byte {at} does not match; the file is damaged.");
            records.Add(data.ToArray());
            at += 16 + (long)length;
        }
        return records;
    }
}
