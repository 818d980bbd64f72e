using System.Numerics;

namespace LlmTrainer.Data;

/// <summary>
/// One split of token data: its shards memory-mapped and read as a single token stream (a split is one stream
/// cut into files, so reads may span shard boundaries). Opening a prepared directory checks every shard against
/// meta.json and, when the caller gives one, the tokenizer hash.
/// </summary>
public sealed class TokenDataset : IDisposable
{
    private readonly TokenShard[] _shards;
    private readonly long[] _starts;

    private TokenDataset(string name, string split, DatasetMeta? meta, TokenShard[] shards)
    {
        Name = name;
        Split = split;
        Meta = meta;
        _shards = shards;
        _starts = new long[shards.Length];
        long total = 0;
        for (int i = 0; i < shards.Length; i++)
        {
            _starts[i] = total;
            total += shards[i].TokenCount;
        }
        TokenCount = total;
        DType = shards[0].DType;
    }

    /// <summary>The directory (or first file) the data came from, for messages.</summary>
    public string Name { get; }

    public string Split { get; }

    /// <summary>meta.json of a prepared directory; null for files opened directly.</summary>
    public DatasetMeta? Meta { get; }

    /// <summary>The vocabulary size from meta.json; every token read is checked against it.</summary>
    public int? VocabSize => Meta?.VocabSize;

    public int? EndOfTextId => Meta?.Tokenizer.EndOfTextId;

    public TokenDType DType { get; }

    public long TokenCount { get; }

    public IReadOnlyList<TokenShard> Shards => _shards;

    /// <summary>
    /// Opens split <paramref name="split"/> ("train" or "val") of a directory made by <c>llmtrain prepare</c>.
    /// Without meta.json, the directory's <c>*{split}*.bin</c> files are opened as llm.c shards.
    /// </summary>
    /// <param name="expectedTokenizerHash">The run's tokenizer hash; the data must have been made with the same tokenizer.</param>
    public static TokenDataset Open(string directory, string split = "train", string? expectedTokenizerHash = null)
    {
        if (!Directory.Exists(directory))
            throw new LlmTrainerException($"Data directory '{directory}' does not exist. Create it with 'llmtrain prepare --input ... --out {directory}'.");
        if (!DatasetMeta.Exists(directory))
            return OpenWithoutMeta(directory, split, expectedTokenizerHash);

        var meta = DatasetMeta.Load(directory);
        if (expectedTokenizerHash is not null && !string.Equals(meta.Tokenizer.Hash, expectedTokenizerHash, StringComparison.Ordinal))
            throw new LlmTrainerException(
                $"{Path.Combine(directory, DatasetMeta.FileName)}: the data was tokenized with tokenizer {meta.Tokenizer.Hash} " +
                $"but this run uses tokenizer {expectedTokenizerHash}. Train with the data's tokenizer ({Path.Combine(directory, meta.Tokenizer.File)}), " +
                "or prepare the data again with the run's tokenizer (llmtrain prepare --tokenizer FILE).");
        var splitMeta = meta.Split(split);
        if (splitMeta.Shards.Count == 0)
            throw new LlmTrainerException(
                $"{directory}: the {split} split is empty (meta.json lists no {split} shards)." +
                (split == "val" ? " Prepare again with a non-zero --val-fraction." : ""));
        var dtype = meta.DType;
        var shards = OpenAll(splitMeta.Shards.Select(s => (Path.Combine(directory, s.File), (long?)s.Tokens)));
        try
        {
            foreach (var shard in shards)
            {
                if (shard.DType != dtype)
                    throw new LlmTrainerException($"{shard.Path}: holds {shard.DType.Name()} tokens but meta.json says {dtype.Name()}. Prepare the data again.");
            }
            long total = shards.Sum(s => s.TokenCount);
            if (total != splitMeta.Tokens)
                throw new LlmTrainerException($"{directory}: meta.json says the {split} split has {splitMeta.Tokens} tokens but its shards hold {total}. Prepare the data again.");
            return new TokenDataset(directory, split, meta, shards);
        }
        catch
        {
            foreach (var shard in shards)
                shard.Dispose();
            throw;
        }
    }

    /// <summary>Opens llm.c shards directly, in the given order.</summary>
    private static TokenDataset OpenFiles(IReadOnlyList<string> paths, string split)
    {
        if (paths.Count == 0)
            throw new LlmTrainerException("No token files given.");
        var shards = OpenAll(paths.Select(p => (p, (long?)null)));
        if (shards.Select(s => s.DType).Distinct().Count() > 1)
        {
            foreach (var shard in shards)
                shard.Dispose();
            throw new LlmTrainerException($"The token files mix uint16 and uint32 tokens ({string.Join(", ", paths)}); they cannot form one dataset.");
        }
        return new TokenDataset(paths[0], split, null, shards);
    }

    private static TokenDataset OpenWithoutMeta(string directory, string split, string? expectedTokenizerHash)
    {
        var files = Directory.GetFiles(directory, $"*{split}*.bin").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new LlmTrainerException(
                $"'{directory}' has no {DatasetMeta.FileName} and no *{split}*.bin shards. Create the data with 'llmtrain prepare --input ... --out {directory}'.");
        if (expectedTokenizerHash is not null)
            throw new LlmTrainerException(
                $"'{directory}' has no {DatasetMeta.FileName}, so the tokenizer its shards were made with cannot be checked against the run's. " +
                "Prepare the data with 'llmtrain prepare' so that meta.json records the tokenizer.");
        var dataset = OpenFiles(files, split);
        return dataset;
    }

    private static TokenShard[] OpenAll(IEnumerable<(string Path, long? Tokens)> files)
    {
        var shards = new List<TokenShard>();
        try
        {
            foreach (var (path, tokens) in files)
                shards.Add(TokenShard.Open(path, tokens));
            return shards.ToArray();
        }
        catch
        {
            foreach (var shard in shards)
                shard.Dispose();
            throw;
        }
    }

    /// <summary>The token at position <paramref name="index"/> of the split's stream.</summary>
    public int this[long index]
    {
        get
        {
            Span<int> one = stackalloc int[1];
            CopyTo(index, one);
            return one[0];
        }
    }

    /// <summary>
    /// Copies the tokens at [<paramref name="start"/>, start + destination.Length) of the split's stream, across shard
    /// boundaries if need be. With a known vocabulary every id is checked, so corrupt data fails here rather than in the model.
    /// </summary>
    public void CopyTo<T>(long start, Span<T> destination) where T : unmanaged, IBinaryInteger<T>
    {
        if (start < 0 || start + destination.Length > TokenCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"Tokens [{start}, {start + destination.Length}) lie outside {Name} ({TokenCount} tokens).");
        int shard = Array.BinarySearch(_starts, start);
        if (shard < 0)
            shard = ~shard - 1;
        var rest = destination;
        long position = start;
        while (!rest.IsEmpty)
        {
            // Skip empty shards.
            while (position - _starts[shard] >= _shards[shard].TokenCount)
                shard++;
            long offset = position - _starts[shard];
            int n = (int)Math.Min(rest.Length, _shards[shard].TokenCount - offset);
            _shards[shard].CopyTo(offset, rest[..n]);
            rest = rest[n..];
            position += n;
        }
        if (VocabSize is int vocab)
            CheckIds(destination, vocab, start);
    }

    private void CheckIds<T>(Span<T> tokens, int vocab, long start) where T : unmanaged, IBinaryInteger<T>
    {
        T limit = T.CreateTruncating(vocab);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] >= limit || T.IsNegative(tokens[i]))
                throw new LlmTrainerException(
                    $"{Name} ({Split}): token id {tokens[i]} at position {start + i} is outside the vocabulary of {vocab}; the shards are corrupt. Prepare the data again.");
        }
    }

    public void Dispose()
    {
        foreach (var shard in _shards)
            shard.Dispose();
    }
}
