using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// A SentencePiece-style tokenizer's vocabulary in the spellings other tools expect: sentencepiece's own (U+2581 for a
/// space, <c>&lt;s&gt;</c>), used by GGUF's <c>llama</c> tokenizer, and llama2.c's tokenizer.bin (spaces, "\n&lt;s&gt;\n").
/// A tokenizer read from llama2.c's tokenizer.bin spells its pieces the second way; the others the first.
/// </summary>
internal static class SentencePieceVocab
{
    private const char SpaceSymbol = '\u2581';

    /// <summary>A short name of the tokenizer's kind and file, for error messages.</summary>
    public static string Describe(Tokenizer tokenizer) => tokenizer.Kind switch
    {
        TokenizerKind.SentencePiece => "SentencePiece tokenizer.model",
        TokenizerKind.Llama2c => "llama2.c tokenizer.bin",
        TokenizerKind.SentencePieceJson => "Llama-style tokenizer.json",
        _ => "byte-level BPE tokenizer.json",
    };

    /// <summary>
    /// The tokenizer when llama.cpp (<paramref name="format"/> gguf) or run.c (llama2c) encodes text with it as we do: it
    /// has piece scores (a Llama-style tokenizer.json lists merges instead), keeps runs of spaces as they are, and (run.c)
    /// puts a space before a text. Otherwise an error naming the format, the tokenizer and the fix.
    /// </summary>
    public static SentencePieceTokenizer Exportable(SentencePieceTokenizer tokenizer, string format)
    {
        string tool = format == "gguf" ? "llama.cpp" : "llama2.c's run.c";
        if (tokenizer.Kind == TokenizerKind.SentencePieceJson)
            throw new LlmTrainerException(
                $"--format {format} needs the piece scores of a SentencePiece tokenizer, and this run's {Describe(tokenizer)} has none (it lists merges); export with --format hf, or prepare the data with the tokenizer.model it was converted from.");
        if (tokenizer.RemovesExtraWhitespaces)
            throw new LlmTrainerException(
                $"--format {format}: this run's {Describe(tokenizer)} collapses runs of spaces (remove_extra_whitespaces), which {tool} does not do, so it would encode text differently; export with --format hf, or use a tokenizer trained with remove_extra_whitespaces=false.");
        if (format == "llama2c" && !tokenizer.AddsDummyPrefix)
            throw new LlmTrainerException(
                $"--format llama2c: this run's {Describe(tokenizer)} puts no space before a text (add_dummy_prefix=false), and run.c always does; export with --format hf or --format gguf.");
        return tokenizer;
    }

    /// <summary>The piece as sentencepiece spells it.</summary>
    public static string ModelPiece(SentencePieceTokenizer tokenizer, int id)
    {
        string piece = tokenizer.Piece(id);
        if (tokenizer.Kind != TokenizerKind.Llama2c)
            return piece;
        return tokenizer.Type(id) switch
        {
            PieceType.Control => piece.Trim('\n'),
            PieceType.Normal => piece.Replace(' ', SpaceSymbol),
            _ => piece,
        };
    }

    /// <summary>The piece as llama2.c's tokenizer.py writes it: U+2581 as a space, &lt;s&gt; and &lt;/s&gt; between newlines.</summary>
    public static string Llama2cPiece(SentencePieceTokenizer tokenizer, int id)
    {
        string piece = tokenizer.Piece(id);
        if (tokenizer.Kind == TokenizerKind.Llama2c)
            return piece;
        if (id == tokenizer.BosId || id == tokenizer.EosId)
            return "\n" + piece + "\n";
        return piece.Replace(SpaceSymbol, ' ');
    }

    /// <summary>The id of the unknown piece; the document start when there is none.</summary>
    public static int UnknownId(SentencePieceTokenizer tokenizer)
    {
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.Type(id) == PieceType.Unknown)
                return id;
        }
        return tokenizer.BosId;
    }
}
