using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace LlmTrainer.Data;

/// <summary>
/// A stable 64-bit identity of a document's text after normalisation (trimmed, every whitespace run one space),
/// so copies that differ only in spacing or line breaks count as duplicates. Stable across runs, machines and
/// runtime versions (SHA-256, not string.GetHashCode), because it also decides each document's split.
/// </summary>
public static class DocumentHash
{
    public static ulong Compute(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        char[] buffer = ArrayPool<char>.Shared.Rent(Math.Max(text.Length, 1));
        try
        {
            var output = buffer.AsSpan(0, text.Length);
            int n = 0;
            bool inSpace = false;
            foreach (char c in text)
            {
                // Printable ASCII first: almost every char, and never whitespace.
                if ((uint)(c - '!') < 0x7F - '!' || !char.IsWhiteSpace(c))
                {
                    output[n++] = c;
                    inSpace = false;
                }
                else if (!inSpace)
                {
                    // The text is trimmed, so text always follows a whitespace run.
                    output[n++] = ' ';
                    inSpace = true;
                }
            }
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(MemoryMarshal.AsBytes(output[..n]), digest);
            return BinaryPrimitives.ReadUInt64LittleEndian(digest);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>A number in [0, 1) fixed by the hash: a document goes to val when it is below the val fraction.</summary>
    public static double SplitScore(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));
}
