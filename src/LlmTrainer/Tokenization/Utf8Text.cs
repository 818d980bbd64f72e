using System.Buffers;
using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>UTF-8 to text with a choice of how invalid bytes are replaced.</summary>
internal static class Utf8Text
{
    /// <param name="eachInvalidByte">Each byte of an invalid sequence becomes its own U+FFFD (SentencePiece's rule); otherwise each maximal invalid subsequence does (.NET's).</param>
    public static string Decode(ReadOnlySpan<byte> bytes, bool eachInvalidByte)
    {
        if (!eachInvalidByte)
            return Encoding.UTF8.GetString(bytes);
        var sb = new StringBuilder(bytes.Length);
        int consumed = Append(bytes, sb, final: true);
        System.Diagnostics.Debug.Assert(consumed == bytes.Length);
        return sb.ToString();
    }

    /// <summary>
    /// Appends the characters of <paramref name="bytes"/> to <paramref name="output"/>, one U+FFFD per invalid byte;
    /// unless <paramref name="final"/>, an incomplete character at the end is left over. Returns the bytes consumed.
    /// </summary>
    public static int Append(ReadOnlySpan<byte> bytes, StringBuilder output, bool final)
    {
        int at = 0;
        Span<char> chars = stackalloc char[2];
        while (at < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[at..], out var rune, out int length);
            if (status == OperationStatus.Done)
            {
                output.Append(chars[..rune.EncodeToUtf16(chars)]);
                at += length;
            }
            else if (status == OperationStatus.NeedMoreData && !final)
            {
                break;
            }
            else
            {
                output.Append('\uFFFD');
                at++;
            }
        }
        return at;
    }
}
