using System.Text.Json;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Hugging Face <c>tokenizer.json</c> for byte-level BPE. Written: model <c>BPE</c> (vocab as ByteLevel
/// strings, merges as <c>"left right"</c>), ByteLevel pre-tokenizer (GPT-2's regex) or, for another
/// pattern, a Split on that regex followed by ByteLevel without its own regex; ByteLevel decoder; special
/// tokens as added tokens. Read: the same shapes, merges as strings or as two-element arrays.
/// </summary>
internal static class TokenizerJson
{
    public static void Save(ByteLevelBpeTokenizer tokenizer, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var (text, id) in tokenizer.SpecialTokens.OrderBy(kv => kv.Value))
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", text);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WritePropertyName("pre_tokenizer");
            if (tokenizer.Pattern == Patterns.Gpt2)
            {
                WriteByteLevel(w, useRegex: true);
            }
            else
            {
                w.WriteStartObject();
                w.WriteString("type", "Sequence");
                w.WriteStartArray("pretokenizers");
                w.WriteStartObject();
                w.WriteString("type", "Split");
                w.WriteStartObject("pattern");
                w.WriteString("Regex", tokenizer.Pattern);
                w.WriteEndObject();
                w.WriteString("behavior", "Isolated");
                w.WriteBoolean("invert", false);
                w.WriteEndObject();
                WriteByteLevel(w, useRegex: false);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteNull("post_processor");
            w.WritePropertyName("decoder");
            WriteByteLevel(w, useRegex: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", tokenizer.IgnoreMerges);
            w.WriteStartObject("vocab");
            for (int id = 0; id < tokenizer.VocabSize; id++)
            {
                if (!tokenizer.IsSpecial(id) && tokenizer.TokenBytes(id).Length > 0)
                    w.WriteNumber(ByteLevel.Encode(tokenizer.TokenBytes(id)), id);
            }
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var m in tokenizer.Merges)
                w.WriteStringValue(ByteLevel.Encode(tokenizer.TokenBytes(m.Left)) + " " + ByteLevel.Encode(tokenizer.TokenBytes(m.Right)));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        File.Move(temp, path, overwrite: true);
    }

    private static void WriteByteLevel(Utf8JsonWriter w, bool useRegex)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", useRegex);
        w.WriteEndObject();
    }

    public static ByteLevelBpeTokenizer Load(string path)
    {
        using var doc = TokenizerFiles.ParseJson(path);
        var root = doc.RootElement;
        string where = $"tokenizer file '{path}'";
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where} has no \"model\" object; is it a Hugging Face tokenizer.json?");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
        if (type != "BPE")
            throw new LlmTrainerException($"{where}: model type '{type}' is not supported; only byte-level BPE is");
        foreach (var unsupported in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(unsupported, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw new LlmTrainerException($"{where}: model.{unsupported} is set; byte-level BPE does not use it");
        }
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            throw new LlmTrainerException($"{where}: a normalizer is set; only byte-level BPE without a normalizer is supported");
        string pattern = ReadPattern(root, where);
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                if (token.ValueKind != JsonValueKind.Object || !token.TryGetProperty("id", out var idEl) || idEl.ValueKind != JsonValueKind.Number || !idEl.TryGetInt32(out int id) || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                    throw new LlmTrainerException($"{where}: every entry of \"added_tokens\" needs an integer \"id\" and a string \"content\"");
                specials[content.GetString()!] = id;
            }
        }
        var specialIds = specials.Values.ToHashSet();

        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where}: model.vocab must be an object mapping tokens to ids");
        var byText = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokens = new List<byte[]?>();
        int vocabEntries = vocab.GetPropertyCount();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new LlmTrainerException($"{where}: vocab entry '{entry.Name}' has no valid id");
            // An id far beyond the entries is corrupt, and must not size the token table.
            if (id >= vocabEntries + specials.Count + ByteLevelBpeTokenizer.MaxIdGap)
                throw new LlmTrainerException($"{where}: vocab entry '{entry.Name}' has id {id}, far beyond the {vocabEntries} entries of the vocabulary");
            byText[entry.Name] = id;
            if (specialIds.Contains(id))
                continue;
            var bytes = ByteLevel.TryDecode(entry.Name)
                ?? throw new LlmTrainerException($"{where}: vocab entry '{entry.Name}' is not a ByteLevel string; only byte-level BPE is supported");
            while (tokens.Count <= id)
                tokens.Add(null);
            tokens[id] = bytes;
        }

        var merges = new List<Merge>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            int line = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                string? left = null, right = null;
                if (m.ValueKind == JsonValueKind.String)
                {
                    var parts = m.GetString()!.Split(' ');
                    if (parts.Length == 2)
                        (left, right) = (parts[0], parts[1]);
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                {
                    (left, right) = (m[0].GetString(), m[1].GetString());
                }
                if (left is null || right is null)
                    throw new LlmTrainerException($"{where}: merge #{line} must be \"left right\" or [\"left\", \"right\"]");
                merges.Add(ResolveMerge(byText, left, right, $"{where}, merge #{line}"));
                line++;
            }
        }
        return new ByteLevelBpeTokenizer([.. tokens], merges, null, specials, pattern, ignoreMerges, where);
    }

    internal static Merge ResolveMerge(Dictionary<string, int> byText, string left, string right, string where)
    {
        if (!byText.TryGetValue(left, out int l))
            throw new LlmTrainerException($"{where}: '{left}' is not in the vocabulary");
        if (!byText.TryGetValue(right, out int r))
            throw new LlmTrainerException($"{where}: '{right}' is not in the vocabulary");
        if (!byText.TryGetValue(left + right, out int result))
            throw new LlmTrainerException($"{where}: the merged token '{left + right}' is not in the vocabulary");
        return new Merge(l, r, result);
    }

    private static string ReadPattern(JsonElement root, string where)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where}: no pre_tokenizer; byte-level BPE needs a ByteLevel pre-tokenizer");
        var steps = TypeOf(pre) == "Sequence" && pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().ToList()
            : [pre];
        string? pattern = null;
        bool byteLevel = false;
        foreach (var step in steps)
        {
            switch (TypeOf(step))
            {
                case "ByteLevel":
                    if (step.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                        throw new LlmTrainerException($"{where}: ByteLevel add_prefix_space=true is not supported");
                    bool useRegex = !step.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                    if (useRegex)
                        pattern = pattern is null ? Patterns.Gpt2 : throw new LlmTrainerException($"{where}: two splitting regexes in the pre_tokenizer are not supported");
                    byteLevel = true;
                    break;
                case "Split":
                    if (pattern is not null)
                        throw new LlmTrainerException($"{where}: two splitting regexes in the pre_tokenizer are not supported");
                    if (!step.TryGetProperty("pattern", out var p) || !p.TryGetProperty("Regex", out var regex) || regex.ValueKind != JsonValueKind.String)
                        throw new LlmTrainerException($"{where}: a Split pre-tokenizer needs {{\"pattern\": {{\"Regex\": ...}}}}");
                    string behavior = step.TryGetProperty("behavior", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : "Isolated";
                    if (behavior != "Isolated" || (step.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True))
                        throw new LlmTrainerException($"{where}: Split behavior '{behavior}' (or invert) is not supported; use Isolated");
                    pattern = regex.GetString()!;
                    break;
                default:
                    throw new LlmTrainerException($"{where}: pre_tokenizer type '{TypeOf(step)}' is not supported (ByteLevel, Split, Sequence are)");
            }
        }
        if (!byteLevel || pattern is null)
            throw new LlmTrainerException($"{where}: the pre_tokenizer must include ByteLevel and a splitting regex");
        return pattern == Patterns.Cl100kPossessive ? Patterns.Cl100k : pattern;
    }

    private static string TypeOf(JsonElement e) => e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
}
