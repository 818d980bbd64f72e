using System.Globalization;
using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// Writes a Hugging Face model directory: config.json, the weights as model.safetensors (or, above the shard size,
/// model-0000i-of-0000n.safetensors with model.safetensors.index.json, as transformers' save_pretrained does),
/// the tokenizer (tokenizer.json, or a SentencePiece run's tokenizer.model, also made from a llama2.c tokenizer.bin),
/// tokenizer_config.json and generation_config.json. Our parameter names and rotary layout are
/// Hugging Face's own, so the tensors are copied as they are (converted to the chosen dtype).
/// </summary>
public static class HfExport
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>transformers' default shard size (5 GB, decimal).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    public static void Write(ExportSource source, string directory, WeightDtype dtype, long maxShardBytes, IProgressReporter progress)
    {
        var c = source.Config;
        var tokenizer = source.Tokenizer;
        Check(tokenizer);
        int bos = tokenizer.BosId, eos = tokenizer.EosId;
        WriteJson(Path.Combine(directory, HfConfigJson.FileName), w => HfConfigJson.Write(w, c, bos, eos, dtype, source.RouterAuxLossCoef));

        var scalar = dtype.ToScalarType();
        var safetensorsDtype = dtype switch
        {
            WeightDtype.F16 => SafetensorsDtype.F16,
            WeightDtype.BF16 => SafetensorsDtype.BF16,
            _ => SafetensorsDtype.F32,
        };
        int elementSize = safetensorsDtype.Size();
        var shards = new List<List<(string Name, long[] Shape, long Bytes)>> { new() };
        long shardBytes = 0, total = 0;
        foreach (var (name, t) in source.Weights)
        {
            long bytes = t.numel() * elementSize;
            if (shards[^1].Count > 0 && shardBytes + bytes > maxShardBytes)
            {
                shards.Add(new());
                shardBytes = 0;
            }
            shards[^1].Add((name, t.shape, bytes));
            shardBytes += bytes;
            total += bytes;
        }

        // transformers refuses safetensors whose metadata does not say which framework wrote them.
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long written = 0;
        for (int s = 0; s < shards.Count; s++)
        {
            string file = shards.Count == 1
                ? SingleFileName
                : string.Create(CultureInfo.InvariantCulture, $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors");
            var entries = shards[s].Select(e => new SafetensorsEntry(e.Name, safetensorsDtype, e.Shape, writer =>
            {
                writer.Write(ExportSource.Bytes(source.Weights[e.Name], scalar));
                written += e.Bytes;
                progress.Report(new ProgressUpdate("export", written / 1e6, total / 1e6, "MB"));
            })).ToList();
            SafetensorsWriter.WriteFile(Path.Combine(directory, file), entries, metadata);
            foreach (var e in shards[s])
                weightMap[e.Name] = file;
        }
        if (shards.Count > 1)
        {
            WriteJson(Path.Combine(directory, IndexFileName), w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("metadata");
                w.WriteNumber("total_size", total);
                w.WriteEndObject();
                w.WriteStartObject("weight_map");
                foreach (var (name, file) in weightMap)
                    w.WriteString(name, file);
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }

        WriteTokenizer(tokenizer, directory);
        WriteJson(Path.Combine(directory, "tokenizer_config.json"), w => WriteTokenizerConfig(w, tokenizer, c.BlockSize));
        WriteJson(Path.Combine(directory, "generation_config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteNumber("bos_token_id", bos);
            w.WriteNumber("eos_token_id", eos);
            w.WriteNumber("max_length", c.BlockSize);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Refuses, before anything is written, a tokenizer Hugging Face cannot be given: a llama2.c tokenizer.bin (which
    /// transformers does not read) whose pieces do not make a tokenizer.model.
    /// </summary>
    public static void Check(Tokenizer tokenizer)
    {
        if (tokenizer is SentencePieceTokenizer { Kind: TokenizerKind.Llama2c } bin)
            SentencePieceModelFile.Pieces(bin);
    }

    /// <summary>
    /// Writes the tokenizer in a format transformers reads: its own file (tokenizer.json, tokenizer.model), or for
    /// llama2.c's tokenizer.bin the tokenizer.model it is made from (<see cref="SentencePieceModelFile"/>).
    /// </summary>
    private static void WriteTokenizer(Tokenizer tokenizer, string directory)
    {
        if (tokenizer is SentencePieceTokenizer { Kind: TokenizerKind.Llama2c } bin)
            SentencePieceModelFile.Write(Path.Combine(directory, SentencePieceModelFile.FileName), bin);
        else
            tokenizer.Save(Path.Combine(directory, tokenizer.FileName));
    }

    /// <summary>
    /// tokenizer_config.json: a byte-level BPE as PreTrainedTokenizerFast with &lt;|endoftext|&gt; for bos, eos and unk; a
    /// SentencePiece tokenizer as LlamaTokenizer (a tokenizer.model, sentencepiece's own encoding: legacy) or
    /// LlamaTokenizerFast (tokenizer.json) that puts &lt;s&gt; before a text and nothing after it, as our training data has.
    /// </summary>
    private static void WriteTokenizerConfig(Utf8JsonWriter w, Tokenizer tokenizer, int blockSize)
    {
        w.WriteStartObject();
        if (tokenizer is SentencePieceTokenizer sp)
        {
            bool model = sp.Kind != TokenizerKind.SentencePieceJson;
            w.WriteString("tokenizer_class", model ? "LlamaTokenizer" : "LlamaTokenizerFast");
            w.WriteString("bos_token", SentencePieceVocab.ModelPiece(sp, sp.BosId));
            w.WriteString("eos_token", SentencePieceVocab.ModelPiece(sp, sp.EosId));
            w.WriteString("unk_token", SentencePieceVocab.ModelPiece(sp, SentencePieceVocab.UnknownId(sp)));
            w.WriteBoolean("add_bos_token", true);
            w.WriteBoolean("add_eos_token", false);
            if (model)
                w.WriteBoolean("legacy", true);
        }
        else
        {
            string eotText = Tokenizer.EndOfText;
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteString("bos_token", eotText);
            w.WriteString("eos_token", eotText);
            w.WriteString("unk_token", eotText);
        }
        w.WriteNumber("model_max_length", blockSize);
        w.WriteBoolean("clean_up_tokenization_spaces", false);
        w.WriteEndObject();
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        using var stream = File.Create(path);
        using (var w = new Utf8JsonWriter(stream, Indented))
            write(w);
        stream.WriteByte((byte)'\n');
    }
}
