using System.Buffers.Binary;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// llama2.c's <c>tokenizer.bin</c> as run.c reads it: int32 max_token_length, then for each of the model's vocab_size ids
/// a float32 score, an int32 byte length and the token's bytes. Our tokens are written as their raw bytes (run.c prints
/// a token's bytes as they are; it only translates SentencePiece's <c>&lt;0xXX&gt;</c> pieces, which we have none of).
/// run.c encodes a prompt by merging adjacent pieces whose concatenation is a token, highest score first: a merged
/// token's score is minus its merge rank (earlier merges first), as in BPE; bytes and special tokens score 0 and -1e9.
/// Ids beyond the tokenizer (a model vocabulary padded above it) are written as empty tokens.
/// </summary>
public static class Llama2cTokenizerBin
{
    public const string FileName = "tokenizer.bin";

    public static void Write(string path, Tokenizer tokenizer, int vocabSize)
    {
        var scores = new float[vocabSize];
        for (int m = 0; m < tokenizer.Merges.Count; m++)
        {
            int result = tokenizer.Merges[m].Result;
            if (result < vocabSize && scores[result] == 0) scores[result] = -(m + 1);
        }
        int maxLength = 0;
        for (int id = 0; id < Math.Min(vocabSize, tokenizer.VocabSize); id++)
        {
            if (tokenizer.IsSpecial(id)) scores[id] = -1e9f;
            maxLength = Math.Max(maxLength, tokenizer.TokenBytes(id).Length);
        }

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, maxLength);
        stream.Write(word);
        for (int id = 0; id < vocabSize; id++)
        {
            var bytes = id < tokenizer.VocabSize ? tokenizer.TokenBytes(id) : ReadOnlySpan<byte>.Empty;
            BinaryPrimitives.WriteSingleLittleEndian(word, scores[id]);
            stream.Write(word);
            BinaryPrimitives.WriteInt32LittleEndian(word, bytes.Length);
            stream.Write(word);
            stream.Write(bytes);
        }
        stream.Flush(flushToDisk: true);
    }
}
