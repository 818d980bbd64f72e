namespace LlmTrainer.Data;

/// <summary>
/// Writes one split as numbered shards (<c>train_000000.bin</c>, <c>train_000001.bin</c>…), starting a new file
/// whenever the current one reaches the shard size. A split is one token stream; shard boundaries may fall inside a document.
/// </summary>
public sealed class ShardSetWriter : IDisposable
{
    private readonly string _directory;
    private readonly List<ShardInfo> _shards = [];
    private ShardWriter? _current;

    public ShardSetWriter(string directory, string split, TokenDType dtype, long shardTokens)
    {
        if (shardTokens < 1 || shardTokens > int.MaxValue)
            throw new LlmTrainerException($"Shard size {shardTokens} tokens is out of range: use 1 to {int.MaxValue} tokens per shard.");
        _directory = directory;
        Split = split;
        DType = dtype;
        ShardTokens = shardTokens;
    }

    public string Split { get; }

    public TokenDType DType { get; }

    public long ShardTokens { get; }

    public long TokenCount { get; private set; }

    public static string ShardFileName(string split, int index) => $"{split}_{index:D6}.bin";

    public void Append(ReadOnlySpan<int> tokens)
    {
        while (!tokens.IsEmpty)
        {
            _current ??= new ShardWriter(Path.Combine(_directory, ShardFileName(Split, _shards.Count)), DType);
            int room = (int)Math.Min(ShardTokens - _current.TokenCount, int.MaxValue);
            int n = Math.Min(room, tokens.Length);
            _current.Append(tokens[..n]);
            TokenCount += n;
            tokens = tokens[n..];
            if (_current.TokenCount == ShardTokens)
                CloseCurrent();
        }
    }

    /// <summary>Finishes the last shard and returns every shard written, in order. An empty split writes no file.</summary>
    public IReadOnlyList<ShardInfo> Complete()
    {
        CloseCurrent();
        return _shards.ToArray();
    }

    private void CloseCurrent()
    {
        if (_current is null)
            return;
        _current.Complete();
        _shards.Add(new ShardInfo(Path.GetFileName(_current.Path), _current.TokenCount));
        _current = null;
    }

    public void Dispose() => _current?.Dispose();
}
