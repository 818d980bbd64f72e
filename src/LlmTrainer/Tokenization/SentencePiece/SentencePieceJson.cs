using System.Text;
using System.Text.Json;

namespace LlmTrainer.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> converted from a SentencePiece BPE model, as the Llama converter writes it:
/// model <c>BPE</c> with <c>byte_fallback</c>, vocab by id and merges; spaces made U+2581 by a normalizer (Prepend +
/// Replace) or a Metaspace pre-tokenizer; <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c> as special added tokens.
/// </summary>
internal static class SentencePieceJson
{
    private const string SpaceSymbol = "\u2581";

    /// <summary>Whether a tokenizer.json is SentencePiece-style (byte fallback, U+2581 spaces) rather than byte-level.</summary>
    public static bool Matches(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return false;
        if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            && model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            return true;
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object && TypeOf(pre) == "Metaspace")
            return true;
        return root.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object && norm.GetRawText().Contains(SpaceSymbol, StringComparison.Ordinal);
    }

    public static SentencePieceTokenizer Load(string path)
    {
        using var doc = TokenizerFiles.ParseJson(path);
        var root = doc.RootElement;
        string where = $"tokenizer file '{path}'";
        if (root.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where} is not a JSON object; is it a Hugging Face tokenizer.json?");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object || TypeOf(model) != "BPE")
            throw new LlmTrainerException($"{where}: model type '{(root.TryGetProperty("model", out var m) ? TypeOf(m) : "")}' is not supported; a SentencePiece-style tokenizer.json needs a BPE model");
        foreach (var unsupported in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(unsupported, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw new LlmTrainerException($"{where}: model.{unsupported} is set; a SentencePiece-style BPE does not use it");
        }
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bfe) && bfe.ValueKind == JsonValueKind.True;
        bool fuseUnk = model.TryGetProperty("fuse_unk", out var fu) && fu.ValueKind == JsonValueKind.True;
        var spaces = ReadSpaces(root, where);

        if (!model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
            throw new LlmTrainerException($"{where}: model.vocab is missing or not an object");
        var byId = new Dictionary<int, string>();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new LlmTrainerException($"{where}: vocab entry '{entry.Name}' has no valid id");
            if (!byId.TryAdd(id, entry.Name))
                throw new LlmTrainerException($"{where}: id {id} is given to both '{byId[id]}' and '{entry.Name}'");
            vocab[entry.Name] = id;
        }
        var special = new HashSet<int>();
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                int id = Property(token, "id") is { ValueKind: JsonValueKind.Number } i && i.TryGetInt32(out int v) ? v : -1;
                string content = Text(token, "content") ?? "";
                bool isSpecial = Property(token, "special") is { ValueKind: JsonValueKind.True };
                if (id < 0 || content.Length == 0)
                    throw new LlmTrainerException($"{where}: an added token has no id or no content");
                if (!isSpecial)
                    throw new LlmTrainerException($"{where}: added token '{content}' is not special; llmtrain reads Llama-style tokenizer.json files whose added tokens are special (<unk>, <s>, </s>)");
                if (byId.TryGetValue(id, out var existing) && existing != content)
                    throw new LlmTrainerException($"{where}: added token '{content}' has id {id}, which is '{existing}' in the vocab");
                byId[id] = content;
                vocab.TryAdd(content, id);
                special.Add(id);
            }
        }
        int size = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        if (size != byId.Count)
            throw new LlmTrainerException($"{where}: the vocab's ids do not run from 0 to {size - 1} without gaps");

        string unkToken = Text(model, "unk_token") ?? "<unk>";
        int unk = vocab.GetValueOrDefault(unkToken, -1);
        var pieces = new string[size];
        var types = new PieceType[size];
        var byteIds = new int[256];
        Array.Fill(byteIds, -1);
        for (int id = 0; id < size; id++)
        {
            string piece = byId[id];
            pieces[id] = piece;
            types[id] = id == unk ? PieceType.Unknown
                : special.Contains(id) ? PieceType.Control
                : byteFallback && SentencePieceTokenizer.ByteValue(piece) is byte b && byteIds[b] < 0 ? PieceType.Byte
                : PieceType.Normal;
            if (types[id] == PieceType.Byte)
                byteIds[SentencePieceTokenizer.ByteValue(piece)!.Value] = id;
        }
        int bos = vocab.GetValueOrDefault("<s>", -1), eos = vocab.GetValueOrDefault("</s>", -1);
        if (bos < 0)
            throw new LlmTrainerException($"{where} has no <s> token; llmtrain starts every document with it");
        if (unk < 0 && !byteFallback)
            throw new LlmTrainerException($"{where}: the unknown token '{unkToken}' is not in the vocab");

        var merges = ReadMerges(model, vocab, where);
        var canonical = new StringBuilder("llmtrain-sentencepiece/1\nformat json\n");
        canonical.Append($"spaces {spaces} byte_fallback {byteFallback} fuse_unk {fuseUnk} unk {unk}\n");
        for (int id = 0; id < size; id++)
            canonical.Append((int)types[id]).Append(' ').Append(pieces[id]).Append('\n');
        foreach (var merge in merges)
            canonical.Append(merge.Left).Append(' ').Append(merge.Right).Append('\n');

        var encoder = new SentencePieceJsonEncoder(vocab, merges, byteFallback ? byteIds : null, unk, fuseUnk, spaces);
        return new SentencePieceTokenizer(TokenizerKind.SentencePieceJson, pieces, new float[size], types, encoder, bos, eos < 0 ? bos : eos,
            " \u2047 ", stripsDummyPrefix: spaces.Prepend, removesExtraWhitespaces: false, SentencePieceTokenizer.ReadAll(path), canonical.ToString())
        {
            AddsDummyPrefix = spaces.Prepend,
        };
    }

    private static List<Merge> ReadMerges(JsonElement model, Dictionary<string, int> vocab, string where)
    {
        var merges = new List<Merge>();
        if (!model.TryGetProperty("merges", out var list) || list.ValueKind != JsonValueKind.Array)
            return merges;
        foreach (var item in list.EnumerateArray())
        {
            string? left = null, right = null;
            if (item.ValueKind == JsonValueKind.String)
            {
                var text = item.GetString()!;
                int space = text.IndexOf(' ');
                if (space > 0 && space < text.Length - 1 && text.IndexOf(' ', space + 1) < 0)
                    (left, right) = (text[..space], text[(space + 1)..]);
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2
                     && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (item[0].GetString(), item[1].GetString());
            }
            if (left is null || right is null)
                throw new LlmTrainerException($"{where}: merge {merges.Count} ({item.GetRawText()}) is not two tokens");
            if (!vocab.TryGetValue(left, out int l) || !vocab.TryGetValue(right, out int r) || !vocab.TryGetValue(left + right, out int result))
                throw new LlmTrainerException($"{where}: merge {merges.Count} ('{left}' '{right}') names a token that is not in the vocab");
            merges.Add(new Merge(l, r, result));
        }
        return merges;
    }

    private static SentencePieceJsonEncoder.Spaces ReadSpaces(JsonElement root, string where)
    {
        const char symbol = '\u2581';
        bool prepend = false, replace = false;
        if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object)
        {
            var steps = TypeOf(norm) == "Sequence" && norm.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().ToList()
                : [norm];
            foreach (var step in steps)
            {
                switch (TypeOf(step))
                {
                    case "Prepend" when Text(step, "prepend") == SpaceSymbol:
                        prepend = true;
                        break;
                    case "Replace" when Property(step, "pattern") is { } pattern && Text(pattern, "String") == " " && Text(step, "content") == SpaceSymbol:
                        replace = true;
                        break;
                    default:
                        throw new LlmTrainerException($"{where}: the normalizer step {step.GetRawText()} is not supported; llmtrain reads Llama-style tokenizer.json files (Prepend \"▁\" and Replace \" \" with \"▁\", or a Metaspace pre-tokenizer)");
                }
            }
        }
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            if (TypeOf(pre) != "Metaspace" || replace || prepend)
                throw new LlmTrainerException($"{where}: the pre_tokenizer {pre.GetRawText()} is not supported with this normalizer; llmtrain reads Llama-style tokenizer.json files (Prepend \"▁\" and Replace \" \" with \"▁\", or a Metaspace pre-tokenizer)");
            string replacement = Text(pre, "replacement") ?? SpaceSymbol;
            if (replacement.Length != 1)
                throw new LlmTrainerException($"{where}: the Metaspace replacement '{replacement}' is not one character");
            string scheme = Text(pre, "prepend_scheme") ?? (Property(pre, "add_prefix_space") is { ValueKind: JsonValueKind.False } ? "never" : "always");
            bool split = Property(pre, "split") is not { ValueKind: JsonValueKind.False };
            return scheme switch
            {
                "always" => new(replacement[0], true, false, true, split),
                "first" => new(replacement[0], true, true, true, split),
                "never" => new(replacement[0], false, false, true, split),
                _ => throw new LlmTrainerException($"{where}: Metaspace prepend_scheme '{scheme}' is not one of always, first, never"),
            };
        }
        if (!replace)
            throw new LlmTrainerException($"{where}: nothing turns spaces into \"▁\" (no Replace normalizer, no Metaspace pre-tokenizer); this is not a Llama-style tokenizer.json");
        return new(symbol, prepend, false, false, false);
    }

    private static string TypeOf(JsonElement e) => Text(e, "type") ?? "";

    /// <summary>The string property <paramref name="name"/> of <paramref name="e"/>; null when either is of another kind.</summary>
    private static string? Text(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static JsonElement? Property(JsonElement e, string name)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;
}
