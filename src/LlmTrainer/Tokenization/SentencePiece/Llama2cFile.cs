using System.Buffers.Binary;
using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// llama2.c's <c>tokenizer.bin</c>: int32 max_token_length, then per token a float32 score, an int32 byte length and
/// the UTF-8 bytes (spaces as spaces, <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> as "\n&lt;s&gt;\n" and "\n&lt;/s&gt;\n"), all
/// little-endian. As in run.c, id 1 is the document start and id 2 the end of a sequence.
/// </summary>
internal static class Llama2cFile
{
    public const int BosId = 1;
    public const int EosId = 2;

    /// <summary>Whether <paramref name="head"/> (a file's first bytes) starts like a tokenizer.bin: a small positive max_token_length, then a first token that fits it.</summary>
    public static bool Looks(ReadOnlySpan<byte> head)
    {
        if (head.Length < 12)
            return false;
        int max = BinaryPrimitives.ReadInt32LittleEndian(head);
        int first = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
        return max is > 0 and <= 1 << 16 && first >= 0 && first <= max;
    }

    public static SentencePieceTokenizer Load(string path)
    {
        byte[] data = SentencePieceTokenizer.ReadAll(path);
        string where = $"tokenizer file '{path}'";
        if (data.Length < 4)
            throw new LlmTrainerException($"{where} is too short to be a llama2.c tokenizer.bin");
        int maxLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxLength <= 0 || maxLength > 1 << 16)
            throw new LlmTrainerException($"{where} is not a llama2.c tokenizer.bin (its max_token_length would be {maxLength})");
        var pieces = new List<string>();
        var scores = new List<float>();
        int at = 4;
        while (at < data.Length)
        {
            if (at + 8 > data.Length)
                throw new LlmTrainerException($"{where}: token {pieces.Count} is cut off at byte {at}; the file is truncated");
            float score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(at));
            int length = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(at + 4));
            at += 8;
            if (length < 0 || length > maxLength || at + length > data.Length)
                throw new LlmTrainerException($"{where}: token {pieces.Count} has length {length} (max_token_length {maxLength}, {data.Length - at} bytes left); the file is damaged");
            var bytes = data.AsSpan(at, length);
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                throw new LlmTrainerException($"{where}: token {pieces.Count} is not valid UTF-8; the file is damaged");
            pieces.Add(Encoding.UTF8.GetString(bytes));
            scores.Add(score);
            at += length;
        }
        if (pieces.Count <= EosId)
            throw new LlmTrainerException($"{where} has {pieces.Count} tokens; a llama2.c vocabulary has <unk>, <s>, </s> and the byte tokens");

        var types = new PieceType[pieces.Count];
        var seen = new bool[256];
        var canonical = new StringBuilder("llmtrain-sentencepiece/1\nformat llama2c\n");
        for (int id = 0; id < pieces.Count; id++)
        {
            string piece = pieces[id];
            types[id] = id is BosId or EosId ? PieceType.Control
                : piece == "<unk>" ? PieceType.Unknown
                : SentencePieceTokenizer.ByteValue(piece) is byte b && !seen[b] ? PieceType.Byte
                : PieceType.Normal;
            if (types[id] == PieceType.Byte)
                seen[SentencePieceTokenizer.ByteValue(piece)!.Value] = true;
            canonical.Append(BitConverter.SingleToInt32Bits(scores[id])).Append(' ').Append(piece).Append('\n');
        }
        int missing = Array.IndexOf(seen, false);
        if (missing >= 0)
            throw new LlmTrainerException($"{where} has no token <0x{missing:X2}>; run.c's byte fallback needs all 256 byte tokens");

        var encoder = new Llama2cEncoder(pieces, [.. scores]);
        return new SentencePieceTokenizer(TokenizerKind.Llama2c, [.. pieces], [.. scores], types, encoder, BosId, EosId, "<unk>",
            stripsDummyPrefix: true, removesExtraWhitespaces: false, data, canonical.ToString());
    }
}
