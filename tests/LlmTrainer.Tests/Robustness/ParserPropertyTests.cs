using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;
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

    [Fact]
    public void Tiktoken_damaged_bytes() =>
        Bytes("ranks.tiktoken", File.ReadAllBytes(TokenizerTestData.Fixture("small.tiktoken")), path => Tokenizer.LoadTiktoken(path));

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
                Tokenizer.LoadGpt2(path, bpe);
            else if (name.EndsWith(".tiktoken", StringComparison.Ordinal))
                Tokenizer.LoadTiktoken(path);
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
        Bytes("encoder.json", encoder, path => Tokenizer.LoadGpt2(path, goodBpe), cases: Cases / 2, companion: goodBpe);
        Json("encoder.json", encoder, path => Tokenizer.LoadGpt2(path, goodBpe), cases: Cases / 2, companion: goodBpe);
        Bytes("vocab.bpe", bpe, path => Tokenizer.LoadGpt2(goodEncoder, path), cases: Cases / 2, companion: goodEncoder);
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
}
