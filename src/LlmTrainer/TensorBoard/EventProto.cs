using System.Buffers.Binary;
using System.Text;

namespace LlmTrainer.TensorBoard;

/// <summary>
/// The few protobuf messages of TensorBoard's event files, encoded and decoded by hand (tensorflow/core/util/event.proto,
/// summary.proto): <c>Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5;
/// SessionLog session_log = 6; } }</c>, <c>Summary { repeated Value value = 1; }</c>,
/// <c>Value { string tag = 1; float simple_value = 2; }</c> and <c>SessionLog { SessionStatus status = 1; }</c>.
/// </summary>
public static class EventProto
{
    private const int WireVarint = 0, WireFixed64 = 1, WireBytes = 2, WireFixed32 = 5;

    /// <summary>SessionLog.SessionStatus.START: TensorBoard drops the events at or after its step that came before it (a resumed run).</summary>
    public const int SessionStart = 1;

    public static byte[] FileVersion(double wallTime, string version)
    {
        var w = new ProtoWriter();
        w.Double(1, wallTime);
        w.Bytes(3, Encoding.UTF8.GetBytes(version));
        return w.ToArray();
    }

    public static byte[] Scalars(double wallTime, long step, IEnumerable<(string Tag, float Value)> values)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, value) in values)
        {
            var v = new ProtoWriter();
            v.Bytes(1, Encoding.UTF8.GetBytes(tag));
            v.Float(2, value);
            summary.Bytes(1, v.ToArray());
        }
        var e = new ProtoWriter();
        e.Double(1, wallTime);
        e.Int64(2, step);
        e.Bytes(5, summary.ToArray());
        return e.ToArray();
    }

    public static byte[] SessionLog(double wallTime, long step, int status)
    {
        var log = new ProtoWriter();
        log.Int64(1, status);
        var e = new ProtoWriter();
        e.Double(1, wallTime);
        e.Int64(2, step);
        e.Bytes(6, log.ToArray());
        return e.ToArray();
    }

    /// <summary>Decodes an Event; fields this reader does not know are skipped, as protobuf readers do.</summary>
    public static TensorBoardEvent Decode(ReadOnlySpan<byte> data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        int? sessionStatus = null;
        var scalars = new List<(string, float)>();
        var r = new ProtoReader(data);
        while (r.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, WireFixed64): wallTime = BitConverter.Int64BitsToDouble((long)r.Fixed64()); break;
                case (2, WireVarint): step = (long)r.Varint(); break;
                case (3, WireBytes): fileVersion = Encoding.UTF8.GetString(r.Bytes()); break;
                case (5, WireBytes): ReadSummary(r.Bytes(), scalars); break;
                case (6, WireBytes):
                    var log = new ProtoReader(r.Bytes());
                    sessionStatus = 0;
                    while (log.Next(out int f, out int w))
                    {
                        if (f == 1 && w == WireVarint) sessionStatus = (int)log.Varint();
                        else log.Skip(w);
                    }
                    break;
                default: r.Skip(wire); break;
            }
        }
        return new TensorBoardEvent(wallTime, step, fileVersion, scalars, sessionStatus);
    }

    private static void ReadSummary(ReadOnlySpan<byte> data, List<(string, float)> scalars)
    {
        var r = new ProtoReader(data);
        while (r.Next(out int field, out int wire))
        {
            if (field != 1 || wire != WireBytes)
            {
                r.Skip(wire);
                continue;
            }
            var v = new ProtoReader(r.Bytes());
            string tag = "";
            float? value = null;
            while (v.Next(out int f, out int w))
            {
                if (f == 1 && w == WireBytes) tag = Encoding.UTF8.GetString(v.Bytes());
                else if (f == 2 && w == WireFixed32) value = BitConverter.Int32BitsToSingle((int)v.Fixed32());
                else v.Skip(w);
            }
            if (value is { } x) scalars.Add((tag, x));
        }
    }

    private sealed class ProtoWriter
    {
        private readonly MemoryStream buffer = new();

        public void Double(int field, double value)
        {
            Tag(field, WireFixed64);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(b, value);
            buffer.Write(b);
        }

        public void Float(int field, float value)
        {
            Tag(field, WireFixed32);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            buffer.Write(b);
        }

        /// <summary>An int64 field: negative values take ten bytes (two's complement), as protobuf encodes them.</summary>
        public void Int64(int field, long value)
        {
            Tag(field, WireVarint);
            WriteVarint((ulong)value);
        }

        public void Bytes(int field, ReadOnlySpan<byte> value)
        {
            Tag(field, WireBytes);
            WriteVarint((ulong)value.Length);
            buffer.Write(value);
        }

        public byte[] ToArray() => buffer.ToArray();

        private void Tag(int field, int wire) => WriteVarint((ulong)((field << 3) | wire));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            buffer.WriteByte((byte)value);
        }
    }

    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> data = data;
        private int at;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (at >= data.Length) return false;
            ulong key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (at >= data.Length) throw Truncated();
                byte b = data[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
            throw new LlmTrainerException("an event record holds a varint longer than 10 bytes; the file is damaged.");
        }

        public ulong Fixed64()
        {
            if (at + 8 > data.Length) throw Truncated();
            var v = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
            at += 8;
            return v;
        }

        public uint Fixed32()
        {
            if (at + 4 > data.Length) throw Truncated();
            var v = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
            at += 4;
            return v;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            ulong length = Varint();
            if (length > (ulong)(data.Length - at)) throw Truncated();
            var span = data.Slice(at, (int)length);
            at += (int)length;
            return span;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case WireVarint: Varint(); break;
                case WireFixed64: Fixed64(); break;
                case WireBytes: Bytes(); break;
                case WireFixed32: Fixed32(); break;
                default: throw new LlmTrainerException($"an event record has protobuf wire type {wire}, which this reader does not know; the file is damaged.");
            }
        }

        private static LlmTrainerException Truncated() => new("an event record ends inside a field; the file is damaged.");
    }
}
