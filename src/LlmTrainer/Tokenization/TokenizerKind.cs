using System.Text.Json.Serialization;

namespace LlmTrainer.Tokenization;

/// <summary>Which family a tokenizer belongs to and which file format it was read from (in meta.json: the names in brackets).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TokenizerKind>))]
public enum TokenizerKind
{
    /// <summary>Byte-level BPE (GPT-2/tiktoken style), saved as Hugging Face <c>tokenizer.json</c>.</summary>
    [JsonStringEnumMemberName("byte_level_bpe")]
    ByteLevelBpe,

    /// <summary>A SentencePiece BPE model (<c>tokenizer.model</c>): Llama 2, TinyLlama, llama2.c's models.</summary>
    [JsonStringEnumMemberName("sentencepiece")]
    SentencePiece,

    /// <summary>llama2.c's <c>tokenizer.bin</c>, encoded as llama2.c's <c>run.c</c> does.</summary>
    [JsonStringEnumMemberName("llama2c")]
    Llama2c,

    /// <summary>A Hugging Face <c>tokenizer.json</c> converted from a SentencePiece BPE model (byte fallback, U+2581 for spaces).</summary>
    [JsonStringEnumMemberName("sentencepiece_json")]
    SentencePieceJson,
}
