using System.Text.Json;

namespace LlmTrainer.Tokenization;

/// <summary>
/// GPT-2's original files: <c>encoder.json</c> (ByteLevel token string → id, <c>&lt;|endoftext|&gt;</c> included)
/// and <c>vocab.bpe</c> (a <c>#version</c> line, then one merge <c>"left right"</c> per line, by priority).
/// </summary>
internal static class Gpt2Files
{
    public static ByteLevelBpeTokenizer Load(string encoderJsonPath, string vocabBpePath)
    {
        string where = $"GPT-2 encoder file '{encoderJsonPath}'";
        using var doc = TokenizerFiles.ParseJson(encoderJsonPath);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where} must be a JSON object mapping tokens to ids");
        var byText = new Dictionary<string, int>(StringComparer.Ordinal);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokens = new List<byte[]?>();
        int entries = doc.RootElement.GetPropertyCount();
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new LlmTrainerException($"{where}: entry '{entry.Name}' has no valid id");
            // An id far beyond the entries is corrupt, and must not size the token table.
            if (id >= entries + ByteLevelBpeTokenizer.MaxIdGap)
                throw new LlmTrainerException($"{where}: entry '{entry.Name}' has id {id}, far beyond the {entries} entries of the file");
            byText[entry.Name] = id;
            // <|endoftext|>, and any entry that is not a ByteLevel string, cannot be a BPE token: it is special.
            var bytes = entry.Name == Tokenizer.EndOfText ? null : ByteLevel.TryDecode(entry.Name);
            if (bytes is null)
            {
                specials[entry.Name] = id;
                continue;
            }
            while (tokens.Count <= id)
                tokens.Add(null);
            tokens[id] = bytes;
        }

        string bpeWhere = $"GPT-2 merges file '{vocabBpePath}'";
        var merges = new List<Merge>();
        int lineNumber = 0;
        foreach (var line in TokenizerFiles.ReadLines(vocabBpePath))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            var parts = line.Split(' ');
            if (parts.Length != 2)
                throw new LlmTrainerException($"{bpeWhere}, line {lineNumber}: expected two tokens separated by one space");
            merges.Add(TokenizerJson.ResolveMerge(byText, parts[0], parts[1], $"{bpeWhere}, line {lineNumber}"));
        }
        return new ByteLevelBpeTokenizer([.. tokens], merges, null, specials, Patterns.Gpt2, ignoreMerges: false, where);
    }
}
