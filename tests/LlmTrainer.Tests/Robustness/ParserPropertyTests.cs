using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;
using LlmTrainer.Interop;
using LlmTrainer.Tests.Data;
using LlmTrainer.Tests.Tokenization;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Robustness;

/// <summary>
/// Property tests over every parser of user files: a valid file, damaged at random (cut short, bytes flipped, a
/// huge number written over a length field, bytes inserted, a JSON value replaced by one of the wrong type), must
/// either load or fail with an <see cref="LlmTrainerException"/> that names the file; never with another exception,
/// and never by allocating memory in proportion to a length field instead of the file.
/// </summary>
public sealed class ParserPropertyTests : IDisposable
{
    // 250 damaged files per property in the test run; PROPERTY_TEST_CASES raises it for a longer job
    // (benchmarks/property_tests.sh).
    private static readonly int Cases =
        int.TryParse(Environment.GetEnvironmentVariable("PROPERTY_TEST_CASES"), out var n) && n > 0 ? n : 250;
    private const long AllocationLimit = 256L << 20;

    private readonly TempDirectory _dir = new();
    private int _next;

    public void Dispose() => _dir.Dispose();

    public abstract record Damage
    {
        public abstract byte[] Apply(byte[] valid);
    }

    public sealed record Cut(double At) : Damage
    {
        public override byte[] Apply(byte[] valid) => valid[..(int)(At * valid.Length)];
    }

    public sealed record Flip(double At, byte Mask) : Damage
    {
        public override byte[] Apply(byte[] valid)
        {
            var bytes = (byte[])valid.Clone();
            if (bytes.Length > 0)
                bytes[Math.Min((int)(At * bytes.Length), bytes.Length - 1)] ^= Math.Max(Mask, (byte)1);
            return bytes;
        }
    }

    /// <summary>A large little-endian number written over 8 (or 4) bytes: a corrupt length, count or offset.</summary>
    public sealed record Huge(double At, ulong Value, bool Wide) : Damage
    {
        public override byte[] Apply(byte[] valid)
        {
            var bytes = (byte[])valid.Clone();
            int width = Wide ? 8 : 4;
            if (bytes.Length < width)
                return bytes;
            int at = Math.Min((int)(At * bytes.Length), bytes.Length - width);
            if (Wide)
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), Value);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)Value);
            return bytes;
        }
    }

    public sealed record Insert(double At, byte[] Bytes) : Damage
    {
        public override byte[] Apply(byte[] valid)
        {
            int at = (int)(At * valid.Length);
            return [.. valid[..at], .. Bytes, .. valid[at..]];
        }
    }

    private static readonly ulong[] HugeValues = [1UL << 40, 1UL << 31, 1UL << 32, uint.MaxValue, ulong.MaxValue, long.MaxValue, 0x7FFF_FFFF, 100_000_001];

    private static Gen<double> Position => Gen.Choose(0, 10_000).Select(i => i / 10_000.0);

    private static Gen<Damage> Damages(bool headerFirst)
    {
        // Header-first formats get half their damage in the first 64 bytes, where the length fields are.
        var position = headerFirst ? Gen.OneOf(Position, Gen.Choose(0, 63).Select(i => -i - 1.0)) : Position;
        var bytes = Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i));
        var hugeValue = Gen.Elements(HugeValues);
        return Gen.OneOf(
            Position.Select(p => (Damage)new Cut(p)),
            position.SelectMany(p => Gen.Choose(1, 255), (p, m) => (Damage)new Flip(p, (byte)m)),
            position.SelectMany(p => hugeValue, (p, v) => (p, v)).SelectMany(pv => Gen.Elements(true, false), (pv, w) => (Damage)new Huge(pv.p, pv.v, w)),
            position.SelectMany(p => bytes, (p, b) => (Damage)new Insert(p, b)));
    }

    /// <summary>Negative positions (from <see cref="Damages"/>) are byte offsets from the start.</summary>
    private static Damage Resolve(Damage damage, int length) => damage switch
    {
        Flip f when f.At < 0 => f with { At = Math.Min(1.0, (-f.At - 1) / Math.Max(length, 1)) },
        Huge h when h.At < 0 => h with { At = Math.Min(1.0, (-h.At - 1) / Math.Max(length, 1)) },
        Insert i when i.At < 0 => i with { At = Math.Min(1.0, (-i.At - 1) / Math.Max(length, 1)) },
        _ => damage,
    };

    /// <summary>Values of every JSON type, to put where another type belongs.</summary>
    private static readonly string[] WrongValues =
        ["0", "-1", "1e300", "1099511627776", "2147483647", "18446744073709551616", "\"x\"", "\"\"", "true", "null", "[]", "{}", "[1, \"a\", null]", "{\"a\": {}}", "-0.5"];

    /// <summary>Replaces the value at one node (chosen by its index in document order) with one of the wrong type.</summary>
    public sealed record Retype(int Node, int Value)
    {
        public byte[] Apply(byte[] json)
        {
            var root = JsonNode.Parse(json)!;
            var nodes = new List<(JsonNode Parent, object Key)>();
            Collect(root, nodes);
            if (nodes.Count == 0)
                return Encoding.UTF8.GetBytes(WrongValues[Value]);
            var (parent, key) = nodes[Node % nodes.Count];
            var value = JsonNode.Parse(WrongValues[Value % WrongValues.Length]);
            if (parent is JsonObject o)
                o[(string)key] = value;
            else
                ((JsonArray)parent)[(int)key] = value;
            return Encoding.UTF8.GetBytes(root.ToJsonString());
        }

        private static void Collect(JsonNode node, List<(JsonNode, object)> nodes)
        {
            if (node is JsonObject o)
            {
                foreach (var (k, v) in o.ToList())
                {
                    nodes.Add((o, k));
                    if (v is not null)
                        Collect(v, nodes);
                }
            }
            else if (node is JsonArray a)
            {
                for (int i = 0; i < a.Count; i++)
                {
                    nodes.Add((a, i));
                    if (a[i] is { } v)
                        Collect(v, nodes);
                }
            }
        }
    }

    private static Gen<Retype> Retypes => Gen.Choose(0, int.MaxValue - 1).SelectMany(n => Gen.Choose(0, WrongValues.Length - 1), (n, v) => new Retype(n, v));

    /// <summary>Loads one damaged file; the only failure allowed is an LlmTrainerException naming it.</summary>
    private void LoadsOrNamesTheFile(string name, byte[] bytes, Action<string> load, string? companion = null)
    {
        string path = _dir.File($"{Interlocked.Increment(ref _next)}-{name}");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            load(path);
        }
        catch (LlmTrainerException e)
        {
            // A file read together with another (encoder.json + vocab.bpe) may be reported through its companion.
            Assert.True(e.Message.Contains(path) || e.Message.Contains(Path.GetFileName(path)) || (companion is not null && e.Message.Contains(companion)),
                $"the error does not name {path}: {e.Message}");
        }
        catch (Exception e)
        {
            Assert.Fail($"{name}: {e.GetType().Name} instead of an LlmTrainerException: {e}");
        }
        finally
        {
            File.Delete(path);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < AllocationLimit, $"{name}: loading a {bytes.Length}-byte file allocated {allocated} bytes");
    }

    private void Bytes(string name, byte[] valid, Action<string> load, bool headerFirst = false, int? cases = null, string? companion = null)
    {
        LoadsOrNamesTheFile(name, valid, load); // the undamaged file loads
        Prop.ForAll(Damages(headerFirst).ToArbitrary(), damage =>
                LoadsOrNamesTheFile(name, Resolve(damage, valid.Length).Apply(valid), load, companion))
            .Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(cases ?? Cases));
    }

    private void Json(string name, byte[] valid, Action<string> load, Func<byte[], byte[]>? wrap = null, int? cases = null, string? companion = null)
    {
        Prop.ForAll(Retypes.ToArbitrary(), retype =>
                LoadsOrNamesTheFile(name, (wrap ?? (b => b))(retype.Apply(valid)), load, companion))
            .Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(cases ?? Cases));
    }

    // ---- safetensors ----

    private static byte[] ValidSafetensors(string dir)
    {
        string path = Path.Combine(dir, "valid.safetensors");
        SafetensorsWriter.WriteFile(path,
        [
            SafetensorsEntry.FromBytes("a.weight", SafetensorsDtype.F32, [2, 3], new byte[24]),
            SafetensorsEntry.FromBytes("b", SafetensorsDtype.BF16, [4], Enumerable.Range(0, 8).Select(i => (byte)i).ToArray()),
            SafetensorsEntry.FromBytes("scalar", SafetensorsDtype.I64, [], new byte[8]),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        return File.ReadAllBytes(path);
    }

    private static void LoadSafetensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (var tensor in file.Tensors)
            _ = file.GetBytes(tensor).Length;
    }

    [Fact]
    public void Safetensors_damaged_bytes() => Bytes("model.safetensors", ValidSafetensors(_dir.Path), LoadSafetensors, headerFirst: true);

    [Fact]
    public void Safetensors_header_values_of_the_wrong_type()
    {
        byte[] valid = ValidSafetensors(_dir.Path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        byte[] header = valid[8..(8 + headerLength)];
        byte[] data = valid[(8 + headerLength)..];
        Json("model.safetensors", header, LoadSafetensors, json =>
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
            return [.. length, .. json, .. data];
        });
    }

    [Fact]
    public void Safetensors_a_header_length_of_2_to_the_40_is_refused_before_allocating()
    {
        byte[] bytes = ValidSafetensors(_dir.Path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        string path = _dir.File("huge.safetensors");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<LlmTrainerException>(() => LoadSafetensors(path));
        Assert.Contains(path, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    // ---- token shards ----

    [Fact]
    public void Token_shard_damaged_bytes()
    {
        foreach (var dtype in new[] { TokenDType.UInt16, TokenDType.UInt32 })
        {
            int count = 37;
            var bytes = new byte[ShardHeader.Bytes + count * dtype.BytesPerToken()];
            ShardHeader.Write(bytes, dtype, count);
            Bytes($"train_{dtype.Name()}.bin", bytes, path =>
            {
                using var shard = TokenShard.Open(path);
                for (long i = 0; i < shard.TokenCount; i++)
                    _ = shard[i];
            }, headerFirst: true, cases: Cases / 2);
        }
    }

    // ---- tokenizers ----

    private byte[] ValidTokenizerJson()
    {
        string path = _dir.File("valid-tokenizer.json");
        Tokenizer.Train(Enumerable.Repeat("Once upon a time there was a cat. The cat sat in the sun, happy. ", 10), 280).Save(path);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Tokenizer_json_damaged_bytes() => Bytes("tokenizer.json", ValidTokenizerJson(), path => Tokenizer.Load(path));

    [Fact]
    public void Tokenizer_json_values_of_the_wrong_type() => Json("tokenizer.json", ValidTokenizerJson(), path => Tokenizer.Load(path));

    /// <summary>Loads a SentencePiece-style tokenizer and uses it: a damaged file that loads must still encode and decode.</summary>
    private static void LoadAndUse(string path)
    {
        var t = Tokenizer.Load(path);
        var ids = t.Encode("Once upon a time, 😀 über  \u2581 東京");
        t.Decode(ids);
        t.Decode([.. Enumerable.Range(0, Math.Min(t.VocabSize, 600))]);
    }

    [Fact]
    public void Sentencepiece_model_damaged_bytes() =>
        Bytes("tokenizer.model", File.ReadAllBytes(TokenizerTestData.Fixture("sp_bpe.model")), LoadAndUse);

    [Fact]
    public void Llama2c_tokenizer_bin_damaged_bytes() =>
        Bytes("tokenizer.bin", File.ReadAllBytes(TokenizerTestData.Fixture("sp_bpe.tokenizer.bin")), LoadAndUse, headerFirst: true);

    [Fact]
    public void Llama_style_tokenizer_json_damaged_bytes() =>
        Bytes("tokenizer.json", File.ReadAllBytes(TokenizerTestData.Fixture("sp_bpe.tokenizer.json")), LoadAndUse);

    [Fact]
    public void Llama_style_tokenizer_json_values_of_the_wrong_type() =>
        Json("tokenizer.json", File.ReadAllBytes(TokenizerTestData.Fixture("sp_bpe.tokenizer.json")), LoadAndUse);

    [Fact]
    public void Tiktoken_damaged_bytes() =>
        Bytes("ranks.tiktoken", File.ReadAllBytes(TokenizerTestData.Fixture("small.tiktoken")), path => TiktokenFile.Load(path, Patterns.Gpt2, null));

    [Theory]
    [InlineData("ranks.tiktoken", "IQ== 2147483647\n")]
    [InlineData("tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 2147483647}}}")]
    [InlineData("tokenizer.json", "{\"model\": {\"vocab\": {\"a\": 0}}, \"added_tokens\": [{\"id\": 2147483647, \"content\": \"<x>\"}]}")]
    [InlineData("encoder.json", "{\"a\": 2147483646}")]
    public void A_huge_token_id_is_refused_before_sizing_a_table_by_it(string name, string content)
    {
        string bpe = _dir.Write("vocab.bpe", "#version: 0.2\n");
        LoadsOrNamesTheFile(name, Encoding.UTF8.GetBytes(content), path =>
        {
            if (name == "encoder.json")
                Gpt2Files.Load(path, bpe);
            else if (name.EndsWith(".tiktoken", StringComparison.Ordinal))
                TiktokenFile.Load(path, Patterns.Gpt2, null);
            else
                Tokenizer.Load(path);
            Assert.Fail("a huge id was accepted");
        });
    }

    [Fact]
    public void Gpt2_encoder_json_and_vocab_bpe_damaged()
    {
        byte[] encoder = File.ReadAllBytes(TokenizerTestData.Fixture("encoder.json"));
        byte[] bpe = File.ReadAllBytes(TokenizerTestData.Fixture("vocab.bpe"));
        string goodEncoder = _dir.File("good-encoder.json");
        string goodBpe = _dir.File("good-vocab.bpe");
        File.WriteAllBytes(goodEncoder, encoder);
        File.WriteAllBytes(goodBpe, bpe);
        Bytes("encoder.json", encoder, path => Gpt2Files.Load(path, goodBpe), cases: Cases / 2, companion: goodBpe);
        Json("encoder.json", encoder, path => Gpt2Files.Load(path, goodBpe), cases: Cases / 2, companion: goodBpe);
        Bytes("vocab.bpe", bpe, path => Gpt2Files.Load(goodEncoder, path), cases: Cases / 2, companion: goodEncoder);
    }

    // ---- documents ----

    private static void ReadDocuments(string path)
    {
        _ = new DocumentReader([path]).Read().Count();
        _ = new DocumentReader([path], new ReadOptions(SkipBad: true, MaxDocumentBytes: 1 << 16)).Read().Count();
    }

    private static readonly string[] Stories =
        Enumerable.Range(0, 40).Select(i => $"Story {i}: the cat \"Tom\" ran {new string('!', i % 5)}\u00e9\u4e2d\ud83d\ude00 far.").ToArray();

    private static byte[] Jsonl => Encoding.UTF8.GetBytes(string.Concat(Stories.Select(s => System.Text.Json.JsonSerializer.Serialize(new { text = s, n = 1 }) + "\n")));

    private static byte[] JsonArray => Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(Stories.Select(s => new { story = s, tags = new[] { "a" } })));

    private static byte[] Text => Encoding.UTF8.GetBytes(string.Join("\n<|endoftext|>\n", Stories));

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
            gz.Write(bytes);
        return output.ToArray();
    }

    [Fact]
    public void Documents_jsonl_damaged() => Bytes("docs.jsonl", Jsonl, ReadDocuments, cases: Cases / 2);

    [Fact]
    public void Documents_json_array_damaged() => Bytes("docs.json", JsonArray, ReadDocuments, cases: Cases / 2);

    [Fact]
    public void Documents_json_values_of_the_wrong_type() => Json("docs.json", JsonArray, ReadDocuments, cases: Cases / 2);

    [Fact]
    public void Documents_txt_damaged() => Bytes("docs.txt", Text, ReadDocuments, cases: Cases / 2);

    [Theory]
    [InlineData(Parquet.CompressionMethod.Snappy)]
    [InlineData(Parquet.CompressionMethod.Zstd)]
    [InlineData(Parquet.CompressionMethod.Gzip)]
    public void Documents_parquet_damaged(Parquet.CompressionMethod compression) =>
        Bytes("docs.parquet", ParquetTestFile.Bytes(new Dictionary<string, string?[]> { ["text"] = Stories }, compression, rowsPerGroup: 16), ReadDocuments, cases: Cases / 3);

    [Fact]
    public void Documents_gzip_damaged()
    {
        Bytes("docs.jsonl.gz", Gzip(Jsonl), ReadDocuments, cases: Cases / 2);
        Bytes("docs.txt.gz", Gzip(Text), ReadDocuments, headerFirst: true, cases: Cases / 2);
    }

    // ---- other tools' model files ----

    /// <summary>A small GGUF file as the export writes it (metadata of every kind it uses, F32 and F16 tensors).</summary>
    private byte[] ValidGguf()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("llama.block_count", 2u);
        w.Add("llama.rope.freq_base", 10000f);
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add("tokenizer.ggml.tokens", ["a", "b", "<|endoftext|>"]);
        w.Add("tokenizer.ggml.token_type", [1, 1, 3]);
        w.AddTensor("token_embd.weight", GgmlType.F16, [3, 4], () => new byte[24]);
        w.AddTensor("output_norm.weight", GgmlType.F32, [4], () => Enumerable.Range(0, 16).Select(i => (byte)i).ToArray());
        string path = _dir.File("valid.gguf");
        w.Write(path);
        return File.ReadAllBytes(path);
    }

    private static void LoadGguf(string path)
    {
        var file = GgufFile.Open(path);
        foreach (var t in file.Tensors)
            _ = file.ReadBytes(t).Length;
    }

    [Fact]
    public void Gguf_damaged_bytes() => Bytes("model.gguf", ValidGguf(), LoadGguf, headerFirst: true);

    /// <summary>A llama2.c file: version 0 (dim 8, 2 layers, 2 heads of 4, 1 kv head, vocab 5, untied, seq_len 3) or version 2 (Q8_0, groups of 4).</summary>
    private static byte[] ValidLlama2c(int version)
    {
        int dim = 8, hidden = 12, layers = 2, heads = 2, kvHeads = 1, vocab = 5, seqLen = 3;
        var config = new LlmTrainer.Model.LlamaConfig(vocab, dim, layers, heads, kvHeads, hidden, seqLen);
        var bytes = new List<byte>();
        void Ints(params int[] values)
        {
            foreach (var v in values) bytes.AddRange(BitConverter.GetBytes(v));
        }
        if (version == 0)
        {
            Ints(dim, hidden, layers, heads, kvHeads, -vocab, seqLen);
            long floats = Llama2cModelFile.WeightCount(config, legacy: true);
            for (long i = 0; i < floats; i++) bytes.AddRange(BitConverter.GetBytes((float)Math.Sin(i)));
            return [.. bytes];
        }
        bytes.AddRange(BitConverter.GetBytes(Llama2cModelFile.Magic));
        Ints(2, dim, hidden, layers, heads, kvHeads, vocab, seqLen);
        bytes.Add(0);
        Ints(4);
        while (bytes.Count < 256) bytes.Add(0);
        long norms = (2L * layers + 1) * dim, weights = Llama2cModelFile.WeightCount(config, legacy: false) - norms;
        for (long i = 0; i < norms; i++) bytes.AddRange(BitConverter.GetBytes(1f));
        // Per matrix: int8 values then one float scale per group of 4; all matrices' sizes are multiples of 4.
        foreach (var n in new long[] { vocab * dim, dim * dim, dim * dim, 4 * dim, 4 * dim, 4 * dim, 4 * dim, dim * dim, dim * dim,
                                        hidden * dim, hidden * dim, dim * hidden, dim * hidden, hidden * dim, hidden * dim, vocab * dim })
        {
            for (long i = 0; i < n; i++) bytes.Add((byte)(i % 7));
            for (long i = 0; i < n / 4; i++) bytes.AddRange(BitConverter.GetBytes(0.01f));
            weights -= n;
        }
        Assert.Equal(0, weights);
        return [.. bytes];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Llama2c_model_damaged_bytes(int version) =>
        Bytes("model.bin", ValidLlama2c(version), path => _ = Llama2cModelFile.ReadArrays(path).Weights.Count, headerFirst: true, cases: Cases / 2);

    /// <summary>Found by the property above: a version-0 vocab_size of int.MinValue once overflowed instead of being refused.</summary>
    [Fact]
    public void Llama2c_vocab_size_of_int_min_is_refused()
    {
        var bytes = ValidLlama2c(0);
        BitConverter.GetBytes(int.MinValue).CopyTo(bytes, 20);
        var path = Path.Combine(Path.GetTempPath(), $"llama2c-min-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<LlmTrainerException>(() => Llama2cModelFile.ReadArrays(path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] ValidHfConfig => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Interop", "Fixtures", "hf", "config.json"));

    [Fact]
    public void Hf_config_json_damaged_bytes() => Bytes("config.json", ValidHfConfig, path => HfConfigJson.Read(path), cases: Cases / 2);

    [Fact]
    public void Hf_config_json_values_of_the_wrong_type() => Json("config.json", ValidHfConfig, path => HfConfigJson.Read(path));
}
