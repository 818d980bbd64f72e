namespace LlmTrainer.Tokenization;

/// <summary>The parts of a SentencePiece <c>ModelProto</c> (<c>tokenizer.model</c>) that encoding and decoding need.</summary>
internal sealed class SentencePieceModel
{
    public const int UnigramModel = 1;
    public const int BpeModel = 2;

    public List<(string Piece, float Score, PieceType Type)> Pieces { get; } = [];

    public int ModelType { get; private set; } = UnigramModel;

    public bool ByteFallback { get; private set; }

    public bool TreatWhitespaceAsSuffix { get; private set; }

    public string UnkSurface { get; private set; } = " \u2047 ";

    public string UnkPiece { get; private set; } = "<unk>";

    public string BosPiece { get; private set; } = "<s>";

    public string EosPiece { get; private set; } = "</s>";

    public string NormalizerName { get; private set; } = "";

    public int CharsmapLength { get; private set; }

    public bool AddDummyPrefix { get; private set; } = true;

    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public bool EscapeWhitespaces { get; private set; } = true;

    public static SentencePieceModel Parse(ReadOnlySpan<byte> data, string where)
    {
        var model = new SentencePieceModel();
        var r = new ProtoReader(data, where);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, 2): model.ReadPiece(r.ReadBytes(), where); break;
                case (2, 2): model.ReadTrainerSpec(r.ReadBytes(), where); break;
                case (3, 2): model.ReadNormalizerSpec(r.ReadBytes(), where); break;
                default: r.Skip(wire); break;
            }
        }
        if (model.Pieces.Count == 0)
            throw new LlmTrainerException($"{where} has no pieces; it is not a SentencePiece tokenizer.model");
        return model;
    }

    private void ReadPiece(ReadOnlySpan<byte> data, string where)
    {
        var r = new ProtoReader(data, where);
        string piece = "";
        float score = 0;
        int type = (int)PieceType.Normal;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, 2): piece = r.ReadString(); break;
                case (2, 5): score = r.ReadFloat(); break;
                case (3, 0): type = r.ReadInt32(); break;
                default: r.Skip(wire); break;
            }
        }
        if (!Enum.IsDefined((PieceType)type))
            throw new LlmTrainerException($"{where}: piece {Pieces.Count} ('{piece}') has an unknown type {type}");
        if (piece.Length == 0)
            throw new LlmTrainerException($"{where}: piece {Pieces.Count} is empty");
        Pieces.Add((piece, score, (PieceType)type));
    }

    private void ReadTrainerSpec(ReadOnlySpan<byte> data, string where)
    {
        var r = new ProtoReader(data, where);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (3, 0): ModelType = r.ReadInt32(); break;
                case (24, 0): TreatWhitespaceAsSuffix = r.ReadBool(); break;
                case (35, 0): ByteFallback = r.ReadBool(); break;
                case (44, 2): UnkSurface = r.ReadString(); break;
                case (45, 2): UnkPiece = r.ReadString(); break;
                case (46, 2): BosPiece = r.ReadString(); break;
                case (47, 2): EosPiece = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(ReadOnlySpan<byte> data, string where)
    {
        var r = new ProtoReader(data, where);
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field, wire)
            {
                case (1, 2): NormalizerName = r.ReadString(); break;
                case (2, 2): CharsmapLength = r.ReadBytes().Length; break;
                case (3, 0): AddDummyPrefix = r.ReadBool(); break;
                case (4, 0): RemoveExtraWhitespaces = r.ReadBool(); break;
                case (5, 0): EscapeWhitespaces = r.ReadBool(); break;
                default: r.Skip(wire); break;
            }
        }
    }
}
