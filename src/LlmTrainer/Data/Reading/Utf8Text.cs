using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace LlmTrainer.Data;

/// <summary>Decodes input text as UTF-8, replacing each invalid sequence with U+FFFD and counting the replacements.</summary>
internal static class Utf8Text
{
    /// <summary>The bytes sniffed at the start of every file to tell text from binary data.</summary>
    public const int SniffBytes = 4096;

    /// <summary>More than this share of the sniffed bytes in invalid UTF-8 sequences makes a file binary (or another encoding).</summary>
    public const double MaxInvalidShare = 0.10;

    public static string Decode(ReadOnlySpan<byte> bytes, ReadContext context)
    {
        if (!Utf8.IsValid(bytes))
            context.InvalidUtf8Sequences += CountInvalid(bytes, out _);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A JSON string value; null when it holds invalid UTF-8 inside escapes, which cannot be repaired.</summary>
    public static string? GetString(ref Utf8JsonReader reader, ReadContext context)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException) when (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return Decode(reader.ValueSpan, context);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Invalid sequences (each one replacement character) and the bytes they span.</summary>
    public static long CountInvalid(ReadOnlySpan<byte> bytes, out long invalidBytes)
    {
        long sequences = 0;
        invalidBytes = 0;
        while (true)
        {
            int nonAscii = bytes.IndexOfAnyExceptInRange((byte)0, (byte)0x7F);
            if (nonAscii < 0)
                return sequences;
            bytes = bytes[nonAscii..];
            if (Rune.DecodeFromUtf8(bytes, out _, out int consumed) != OperationStatus.Done)
            {
                sequences++;
                invalidBytes += consumed;
            }
            bytes = bytes[Math.Max(consumed, 1)..];
        }
    }

    /// <summary>Why the start of a file is not text (NUL bytes, mostly invalid UTF-8); null when it looks like text.</summary>
    /// <param name="complete">False when <paramref name="head"/> is a prefix, whose last sequence may be cut short.</param>
    public static string? NotText(ReadOnlySpan<byte> head, bool complete)
    {
        if (head.IndexOf((byte)0) >= 0)
            return $"it holds NUL bytes in its first {head.Length} bytes";
        if (!complete)
        {
            // Drop a multi-byte sequence cut by the end of the sniffed block.
            int cut = 0;
            while (cut < 3 && cut < head.Length && (head[^(cut + 1)] & 0xC0) == 0x80)
                cut++;
            if (cut < head.Length && head[^(cut + 1)] >= 0xC0)
                head = head[..^(cut + 1)];
        }
        if (head.IsEmpty || Utf8.IsValid(head))
            return null;
        CountInvalid(head, out long invalid);
        double share = (double)invalid / head.Length;
        return share > MaxInvalidShare ? $"{share:P0} of its first {head.Length} bytes are not valid UTF-8" : null;
    }
}
