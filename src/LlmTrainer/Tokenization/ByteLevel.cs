namespace LlmTrainer.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ character mapping, used by Hugging Face's ByteLevel pre-tokenizer and by
/// <c>encoder.json</c>/<c>vocab.bpe</c>: printable bytes stand for themselves, the other 68 bytes are
/// shifted to U+0100 and up, so every token is a printable string without spaces.
/// </summary>
internal static class ByteLevel
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var map = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++)
            map[ByteToChar[b]] = (byte)b;
        return map;
    }

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, src) =>
        {
            for (int i = 0; i < src.Length; i++)
                chars[i] = ByteToChar[src[i]];
        });
    }

    /// <summary>The bytes a ByteLevel string stands for, or null when it holds a character outside the mapping.</summary>
    public static byte[]? TryDecode(string text)
    {
        var bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!CharToByte.TryGetValue(text[i], out bytes[i]))
                return null;
        }
        return bytes;
    }
}
