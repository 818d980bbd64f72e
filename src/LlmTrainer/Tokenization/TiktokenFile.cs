namespace LlmTrainer.Tokenization;

/// <summary>
/// tiktoken's rank files: one <c>base64(token bytes) rank</c> per line, the rank being both the id and the
/// merge priority. There is no merge list, so one is derived: every way of splitting a token into two
/// tokens is a merge with the token's rank as priority. With whole-piece lookup first
/// (<see cref="ByteLevelBpeTokenizer.IgnoreMerges"/>) this reproduces tiktoken's encoding exactly.
/// </summary>
internal static class TiktokenFile
{
    /// <summary>The special tokens tiktoken's cl100k_base defines.</summary>
    internal static readonly IReadOnlyDictionary<string, int> Cl100kSpecials = new Dictionary<string, int>
    {
        [Tokenizer.EndOfText] = 100257,
        ["<|fim_prefix|>"] = 100258,
        ["<|fim_middle|>"] = 100259,
        ["<|fim_suffix|>"] = 100260,
        ["<|endofprompt|>"] = 100276,
    };

    public static ByteLevelBpeTokenizer Load(string path, string pattern, IReadOnlyDictionary<string, int>? specialTokens)
    {
        string where = $"tiktoken rank file '{path}'";
        var tokens = new List<byte[]?>();
        var byBytes = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (var line in TokenizerFiles.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            int space = line.IndexOf(' ');
            byte[] bytes;
            int rank;
            try
            {
                if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), out rank) || rank < 0)
                    throw new FormatException();
                bytes = Convert.FromBase64String(line[..space]);
            }
            catch (FormatException)
            {
                throw new LlmTrainerException($"{where}, line {lineNumber}: expected 'BASE64 RANK'");
            }
            if (bytes.Length == 0)
                throw new LlmTrainerException($"{where}, line {lineNumber}: the token is empty");
            // Ranks are dense and in order: one far beyond the lines read is corrupt, and must not size the token table.
            if (rank >= lineNumber + ByteLevelBpeTokenizer.MaxIdGap)
                throw new LlmTrainerException($"{where}, line {lineNumber}: rank {rank} is far beyond the {lineNumber} lines of the file");
            while (tokens.Count <= rank)
                tokens.Add(null);
            if (tokens[rank] is not null)
                throw new LlmTrainerException($"{where}, line {lineNumber}: rank {rank} appears twice");
            tokens[rank] = bytes;
            if (!byBytes.TryAdd(ByteLevelBpeTokenizer.Latin1(bytes), rank))
                throw new LlmTrainerException($"{where}, line {lineNumber}: the same token bytes appear twice");
        }
        if (tokens.Count == 0)
            throw new LlmTrainerException($"{where} holds no tokens");

        var merges = new List<Merge>();
        var priorities = new List<int>();
        for (int rank = 0; rank < tokens.Count; rank++)
        {
            var bytes = tokens[rank];
            if (bytes is null || bytes.Length < 2)
                continue;
            string text = ByteLevelBpeTokenizer.Latin1(bytes);
            for (int cut = 1; cut < text.Length; cut++)
            {
                if (byBytes.TryGetValue(text[..cut], out int left) && byBytes.TryGetValue(text[cut..], out int right))
                {
                    merges.Add(new Merge(left, right, rank));
                    priorities.Add(rank);
                }
            }
        }
        var specials = specialTokens ?? new Dictionary<string, int> { [Tokenizer.EndOfText] = tokens.Count };
        return new ByteLevelBpeTokenizer([.. tokens], merges, priorities, specials, pattern, ignoreMerges: true, where);
    }
}
