using System.Buffers.Binary;

namespace LlmTrainer.Data;

/// <summary>
/// The llm.c shard header: 256 little-endian int32 (1024 bytes); [0] magic, [1] version, [2] token count, the rest zero.
/// The two magic/version pairs are llm.c's "gpt-2" (uint16) and "llama-3" (uint32) layouts, so its shards load unchanged.
/// </summary>
public static class ShardHeader
{
    public const int Ints = 256;
    public const int Bytes = Ints * sizeof(int);
    public const int MagicUInt16 = 20240520;
    public const int VersionUInt16 = 1;
    public const int MagicUInt32 = 20240801;
    public const int VersionUInt32 = 7;

    /// <summary>The hint for a file that is not an llm.c shard.</summary>
    internal const string NotAShard = "Token files are made by 'llmtrain prepare'; for headerless nanoGPT/llama2.c .bin files, prepare their text instead.";

    public static int Magic(TokenDType dtype) => dtype == TokenDType.UInt16 ? MagicUInt16 : MagicUInt32;

    public static int Version(TokenDType dtype) => dtype == TokenDType.UInt16 ? VersionUInt16 : VersionUInt32;

    public static void Write(Span<byte> header, TokenDType dtype, int tokenCount)
    {
        header[..Bytes].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(header, Magic(dtype));
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version(dtype));
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], tokenCount);
    }

    /// <summary>Checks magic and version and returns the dtype and token count; errors name <paramref name="path"/>.</summary>
    public static (TokenDType DType, int TokenCount) Read(ReadOnlySpan<byte> header, string path)
    {
        int magic = BinaryPrimitives.ReadInt32LittleEndian(header);
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        TokenDType dtype = magic switch
        {
            MagicUInt16 => TokenDType.UInt16,
            MagicUInt32 => TokenDType.UInt32,
            _ => throw new LlmTrainerException(
                $"{path}: bad shard magic {magic} (expected {MagicUInt16} for uint16 or {MagicUInt32} for uint32 tokens). " +
                NotAShard),
        };
        if (version != Version(dtype))
            throw new LlmTrainerException(
                $"{path}: unsupported shard version {version} for magic {magic} (expected {Version(dtype)}). The file is corrupt or from an incompatible writer.");
        if (count < 0)
            throw new LlmTrainerException($"{path}: header token count is negative ({count}); the file is corrupt.");
        return (dtype, count);
    }
}
