namespace LlmTrainer.Data;

/// <summary>How token ids are stored on disk: 2 bytes when the vocabulary fits, 4 otherwise.</summary>
public enum TokenDType
{
    UInt16,
    UInt32,
}

public static class TokenDTypes
{
    public static int BytesPerToken(this TokenDType dtype) => dtype == TokenDType.UInt16 ? 2 : 4;

    /// <summary>The smallest dtype that holds every id of a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public static TokenDType ForVocabulary(int vocabSize) => vocabSize <= 65536 ? TokenDType.UInt16 : TokenDType.UInt32;

    /// <summary>The name used in meta.json.</summary>
    public static string Name(this TokenDType dtype) => dtype == TokenDType.UInt16 ? "uint16" : "uint32";

    public static TokenDType Parse(string name, string where) => name switch
    {
        "uint16" => TokenDType.UInt16,
        "uint32" => TokenDType.UInt32,
        _ => throw new LlmTrainerException($"{where}: unknown token dtype '{name}' (expected uint16 or uint32)."),
    };
}
