using System.Buffers.Binary;
using System.Text;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// llama2.c's <c>tokenizer.bin</c> as run.c reads it: int32 max_token_length, then for each of the model's vocab_size ids
/// a float32 score, an int32 byte length and the token's bytes. run.c encodes a prompt by merging adjacent pieces whose
/// concatenation is a token, highest score first. Ids beyond the tokenizer (a model vocabulary padded above it) are
/// written as empty tokens.
/// </summary>
/// <remarks>
/// A byte-level BPE tokenizer's tokens are written as their raw bytes (run.c prints a token's bytes as they are; it only
/// translates SentencePiece's <c>&lt;0xXX&gt;</c> pieces, which it has none of); a merged token's score is minus its merge
/// rank (earlier merges first), as in BPE; bytes and special tokens score 0 and -1e9. A SentencePiece tokenizer is
/// written as llama2.c's tokenizer.py does: its pieces with U+2581 as a space, <c>&lt;0xXX&gt;</c> kept, and its scores.
/// </remarks>
public static class Llama2cTokenizerBin
{
    public const string FileName = "tokenizer.bin";

    public static void Write(string path, Tokenizer tokenizer, int vocabSize)
    {
        var (tokens, scores) = tokenizer switch
        {
            ByteLevelBpeTokenizer bpe => ByteLevel(bpe, vocabSize),
            SentencePieceTokenizer sp => Pieces(SentencePieceVocab.Exportable(sp, "llama2c"), vocabSize),
            _ => throw new LlmTrainerException($"--format llama2c cannot write a {tokenizer.Kind} tokenizer as tokenizer.bin."),
        };
        int maxLength = tokens.Max(t => t.Length);

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, maxLength);
        stream.Write(word);
        for (int id = 0; id < vocabSize; id++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(word, scores[id]);
            stream.Write(word);
            BinaryPrimitives.WriteInt32LittleEndian(word, tokens[id].Length);
            stream.Write(word);
            stream.Write(tokens[id]);
        }
        stream.Flush(flushToDisk: true);
    }

    private static (byte[][] Tokens, float[] Scores) ByteLevel(ByteLevelBpeTokenizer tokenizer, int vocabSize)
    {
        var scores = new float[vocabSize];
        for (int m = 0; m < tokenizer.Merges.Count; m++)
        {
            int result = tokenizer.Merges[m].Result;
            if (result < vocabSize && scores[result] == 0) scores[result] = -(m + 1);
        }
        var tokens = new byte[vocabSize][];
        for (int id = 0; id < vocabSize; id++)
        {
            tokens[id] = id < tokenizer.VocabSize ? tokenizer.TokenBytes(id).ToArray() : [];
            if (id < tokenizer.VocabSize && tokenizer.IsSpecial(id)) scores[id] = -1e9f;
        }
        return (tokens, scores);
    }

    private static (byte[][] Tokens, float[] Scores) Pieces(SentencePieceTokenizer tokenizer, int vocabSize)
    {
        var scores = new float[vocabSize];
        var tokens = new byte[vocabSize][];
        for (int id = 0; id < vocabSize; id++)
        {
            bool known = id < tokenizer.VocabSize;
            tokens[id] = known ? Encoding.UTF8.GetBytes(SentencePieceVocab.Llama2cPiece(tokenizer, id)) : [];
            scores[id] = known ? tokenizer.Score(id) : 0;
        }
        return (tokens, scores);
    }
}
