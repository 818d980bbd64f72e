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
            int n = 0;
            bool pendingSpace = false;
            foreach (char c in text)
            {
                if (char.IsWhiteSpace(c))
                {
                    pendingSpace = true;
                    continue;
                }
                if (pendingSpace)
                {
                    buffer[n++] = ' ';
                    pendingSpace = false;
                }
                buffer[n++] = c;
            }
            Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(MemoryMarshal.AsBytes(buffer.AsSpan(0, n)), digest);
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
