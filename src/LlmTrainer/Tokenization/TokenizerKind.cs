namespace LlmTrainer.Tokenization;

/// <summary>Which family a tokenizer belongs to and which file format it was read from.</summary>
public enum TokenizerKind
{
    /// <summary>Byte-level BPE (GPT-2/tiktoken style), saved as Hugging Face <c>tokenizer.json</c>.</summary>
    ByteLevelBpe,

    /// <summary>A SentencePiece BPE model (<c>tokenizer.model</c>): Llama 2, TinyLlama, llama2.c's models.</summary>
    SentencePiece,

    /// <summary>llama2.c's <c>tokenizer.bin</c>, encoded as llama2.c's <c>run.c</c> does.</summary>
    Llama2c,

    /// <summary>A Hugging Face <c>tokenizer.json</c> converted from a SentencePiece BPE model (byte fallback, U+2581 for spaces).</summary>
    SentencePieceJson,
}
