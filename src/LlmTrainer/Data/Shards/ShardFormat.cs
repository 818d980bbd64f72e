namespace LlmTrainer.Data;

/// <summary>On-disk layout of a token file.</summary>
public enum ShardFormat
{
    /// <summary>llm.c layout: a 1024-byte header (magic, version, token count), then the tokens.</summary>
    Header,

    /// <summary>Headerless little-endian uint16 tokens, as written by nanoGPT and llama2.c.</summary>
    RawU16,
}

public static class ShardFormats
{
    public static ShardFormat Parse(string name) => name.ToLowerInvariant() switch
    {
        "header" or "llmc" or "llm.c" => ShardFormat.Header,
        "raw-u16" or "rawu16" => ShardFormat.RawU16,
        _ => throw new LlmTrainerException($"Unknown shard format '{name}': use 'header' (llm.c shards) or 'raw-u16' (headerless nanoGPT/llama2.c files)."),
    };
}
