namespace LlmTrainer.Tokenization;

/// <summary>SentencePiece's piece types, with the numbers of its <c>ModelProto.SentencePiece.Type</c>.</summary>
public enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
