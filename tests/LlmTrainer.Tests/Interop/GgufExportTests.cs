using System.Security.Cryptography;
using System.Text.Json;
using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Interop;

[Collection("torch")]
public sealed class GgufExportTests
{
    /// <summary>The npm package that parses the file independently, and the version the tests install.</summary>
    private const string NpmPackage = "@huggingface/gguf@0.4.6";

    private sealed record Expected(string Name, GgmlType Type, long[] Shape, byte[] Bytes);

    /// <summary>Every tensor the export must hold for <paramref name="model"/>, with its exact bytes.</summary>
    private static List<Expected> ExpectedTensors(Llama model, WeightDtype dtype)
    {
        var c = model.Config;
        var w = model.state_dict();
        var type = dtype switch { WeightDtype.F16 => GgmlType.F16, WeightDtype.BF16 => GgmlType.BF16, _ => GgmlType.F32 };
        var list = new List<Expected>();
        void Add(string name, Tensor t, GgmlType? forced = null)
        {
            var g = forced ?? (t.dim() == 1 ? GgmlType.F32 : type);
            var scalar = g switch { GgmlType.F16 => ScalarType.Float16, GgmlType.BF16 => ScalarType.BFloat16, _ => ScalarType.Float32 };
            list.Add(new Expected(name, g, t.shape, t.to(scalar).contiguous().ToBytes()));
        }
        Add("token_embd.weight", w["model.embed_tokens.weight"]);
        for (int i = 0; i < c.NLayer; i++)
        {
            string p = $"model.layers.{i}.", b = $"blk.{i}.";
            Add(b + "attn_norm.weight", w[p + "input_layernorm.weight"]);
            Add(b + "attn_q.weight", RotaryLayout.ToInterleaved(w[p + "self_attn.q_proj.weight"], c.NHead));
            Add(b + "attn_k.weight", RotaryLayout.ToInterleaved(w[p + "self_attn.k_proj.weight"], c.NKvHead));
            Add(b + "attn_v.weight", w[p + "self_attn.v_proj.weight"]);
            Add(b + "attn_output.weight", w[p + "self_attn.o_proj.weight"]);
            Add(b + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"]);
            if (c.IsMoe)
            {
                Add(b + "ffn_gate_inp.weight", w[p + "block_sparse_moe.gate.weight"], GgmlType.F32);
                Tensor Stack(string which) => torch.stack(Enumerable.Range(0, c.NExperts).Select(e => w[$"{p}block_sparse_moe.experts.{e}.{which}.weight"]).ToList());
                Add(b + "ffn_gate_exps.weight", Stack("w1"));
                Add(b + "ffn_down_exps.weight", Stack("w2"));
                Add(b + "ffn_up_exps.weight", Stack("w3"));
            }
            else
            {
                Add(b + "ffn_gate.weight", w[p + "mlp.gate_proj.weight"]);
                Add(b + "ffn_up.weight", w[p + "mlp.up_proj.weight"]);
                Add(b + "ffn_down.weight", w[p + "mlp.down_proj.weight"]);
            }
        }
        Add("output_norm.weight", w["model.norm.weight"]);
        if (!c.TieEmbeddings) Add("output.weight", w["lm_head.weight"]);
        return list;
    }

    private static Dictionary<string, object> ExpectedMetadata(LlamaConfig c, ByteLevelBpeTokenizer tokenizer, WeightDtype dtype)
    {
        var m = new Dictionary<string, object>
        {
            ["general.architecture"] = "llama",
            ["general.name"] = "fixture",
            ["general.alignment"] = 32u,
            ["general.file_type"] = dtype switch { WeightDtype.F16 => 1u, WeightDtype.BF16 => 32u, _ => 0u },
            ["llama.vocab_size"] = (uint)c.VocabSize,
            ["llama.context_length"] = (uint)c.BlockSize,
            ["llama.embedding_length"] = (uint)c.DModel,
            ["llama.block_count"] = (uint)c.NLayer,
            ["llama.feed_forward_length"] = (uint)c.FfnHidden,
            ["llama.attention.head_count"] = (uint)c.NHead,
            ["llama.attention.head_count_kv"] = (uint)c.NKvHead,
            ["llama.rope.dimension_count"] = (uint)c.HeadDim,
            ["llama.rope.freq_base"] = (float)c.RopeTheta,
            ["llama.attention.layer_norm_rms_epsilon"] = (float)c.NormEps,
            ["tokenizer.ggml.model"] = "gpt2",
            ["tokenizer.ggml.pre"] = "gpt-2",
            ["tokenizer.ggml.bos_token_id"] = (uint)tokenizer.EndOfTextId,
            ["tokenizer.ggml.eos_token_id"] = (uint)tokenizer.EndOfTextId,
            ["tokenizer.ggml.unknown_token_id"] = (uint)tokenizer.EndOfTextId,
            ["tokenizer.ggml.add_bos_token"] = true,
            ["tokenizer.ggml.add_eos_token"] = false,
        };
        if (c.IsMoe)
        {
            m["llama.expert_count"] = (uint)c.NExperts;
            m["llama.expert_used_count"] = (uint)c.ExpertsPerToken;
        }
        return m;
    }

    private static string Export(Llama model, Tokenizer tokenizer, WeightDtype dtype, string dir)
    {
        var path = Path.Combine(dir, "model.gguf");
        ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Gguf, path, dtype, HfExport.DefaultMaxShardBytes);
        return path;
    }

    public static TheoryData<string, WeightDtype> Cases() => new()
    {
        { "dense", WeightDtype.F32 },
        { "dense", WeightDtype.F16 },
        { "dense", WeightDtype.BF16 },
        { "tied", WeightDtype.F32 },
        { "moe", WeightDtype.BF16 },
    };

    private static LlamaConfig ConfigOf(string kind) => kind switch
    {
        "tied" => InteropFixture.RunCConfig(tied: true),
        "moe" => InteropFixture.MoeConfig,
        _ => InteropFixture.HfConfig,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Our_reader_finds_every_header_field_and_tensor(string kind, WeightDtype dtype)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(ConfigOf(kind));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var file = GgufFile.Open(Export(model, tokenizer, dtype, dir));
            Assert.Equal(3u, file.Version);
            var expected = ExpectedMetadata(model.Config, tokenizer, dtype);
            foreach (var (key, value) in expected)
                Assert.True(Equals(value, file.Metadata[key]), $"{key}: expected {value}, found {file.Metadata[key]}");

            var tokens = ((List<object>)file.Metadata["tokenizer.ggml.tokens"]).Cast<string>().ToList();
            var types = ((List<object>)file.Metadata["tokenizer.ggml.token_type"]).Cast<int>().ToList();
            var merges = ((List<object>)file.Metadata["tokenizer.ggml.merges"]).Cast<string>().ToList();
            Assert.Equal(300, tokens.Count);
            Assert.Equal(300, types.Count);
            Assert.Equal("Ġ", tokens[32]); // a space, in GPT-2's byte-to-character mapping
            Assert.Equal(Tokenizer.EndOfText, tokens[tokenizer.EndOfTextId]);
            Assert.Equal(3, types[tokenizer.EndOfTextId]);
            Assert.Equal(1, types[100]);
            Assert.All(Enumerable.Range(tokenizer.VocabSize, 300 - tokenizer.VocabSize), id => Assert.Equal(5, types[id]));
            Assert.Equal(tokenizer.Merges.Count, merges.Count);
            var first = tokenizer.Merges[0];
            Assert.Equal($"{tokens[first.Left]} {tokens[first.Right]}", merges[0]);
            Assert.Equal(expected.Count + 3, file.Metadata.Count);

            var tensors = ExpectedTensors(model, dtype);
            Assert.Equal(tensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
            foreach (var e in tensors)
            {
                var t = file.Tensor(e.Name);
                Assert.Equal(e.Type, t.Type);
                Assert.Equal(e.Shape, t.Shape);
                Assert.True(e.Bytes.AsSpan().SequenceEqual(file.ReadBytes(t)), $"{e.Name}: bytes differ");
            }
            Assert.Equal(0, file.DataStart % 32);
            Assert.Equal(new FileInfo(file.Path).Length, file.DataStart + file.Tensors[^1].Offset + file.Tensors[^1].ByteLength + Pad(file.Tensors[^1].ByteLength));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Pad(long n) => (32 - n % 32) % 32;

    [Fact]
    public void A_truncated_file_is_refused_with_its_name()
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.HfConfig);
        var dir = InteropFixture.TempDirectory();
        try
        {
            var path = Export(model, InteropFixture.Tokenizer(), WeightDtype.F32, dir);
            var bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
            var e = Assert.Throws<LlmTrainerException>(() => GgufFile.Open(path));
            Assert.Contains("model.gguf", e.Message);
            Assert.Contains("truncated", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Installs the npm package once into artifacts/node-gguf (scripts/setup.sh does the same); npm failing fails the test.</summary>
    internal static string NodeReader()
    {
        var prefix = Path.GetFullPath(Path.Combine(InteropFixture.SourceDirectory, "..", "..", "..", "..", "artifacts", "node-gguf"));
        if (!File.Exists(Path.Combine(prefix, "node_modules", "@huggingface", "gguf", "package.json")))
        {
            Directory.CreateDirectory(prefix);
            var (code, output) = Llama2cExportTests.Run("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", NpmPackage]);
            Assert.True(code == 0, $"npm install {NpmPackage} failed ({code}); the GGUF export cannot be checked by an independent parser:\n{output}");
        }
        var script = Path.Combine(prefix, "read_gguf.mjs");
        File.Copy(Path.Combine(InteropFixture.Directory, "read_gguf.mjs"), script, overwrite: true);
        return script;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_huggingface_gguf_parser_reads_the_same_file(string kind, WeightDtype dtype)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(ConfigOf(kind));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var path = Export(model, tokenizer, dtype, dir);
            var (code, output) = Llama2cExportTests.Run("node", [NodeReader(), path]);
            Assert.True(code == 0, $"node could not parse the export ({code}): {output}");
            using var doc = JsonDocument.Parse(output);
            var root = doc.RootElement;
            var metadata = root.GetProperty("metadata");
            Assert.Equal(3, metadata.GetProperty("version").GetInt32());
            foreach (var (key, value) in ExpectedMetadata(model.Config, tokenizer, dtype))
            {
                var found = metadata.GetProperty(key);
                switch (value)
                {
                    case string s: Assert.Equal(s, found.GetString()); break;
                    case bool b: Assert.Equal(b, found.GetBoolean()); break;
                    case float f: Assert.Equal(f, found.GetSingle()); break;
                    default: Assert.Equal(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture), found.GetInt64()); break;
                }
            }
            var tokens = metadata.GetProperty("tokenizer.ggml.tokens").EnumerateArray().Select(t => t.GetString()).ToList();
            Assert.Equal(Tokenizer.EndOfText, tokens[tokenizer.EndOfTextId]);
            Assert.Equal(300, tokens.Count);
            Assert.Equal(tokenizer.Merges.Count, metadata.GetProperty("tokenizer.ggml.merges").GetArrayLength());

            var ours = GgufFile.Open(path);
            Assert.Equal(ours.DataStart, root.GetProperty("tensorDataOffset").GetInt64());
            var expected = ExpectedTensors(model, dtype);
            var theirs = root.GetProperty("tensors").EnumerateArray().ToList();
            Assert.Equal(expected.Select(e => e.Name), theirs.Select(t => t.GetProperty("name").GetString()));
            for (int i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                Assert.Equal(e.Shape.Reverse(), theirs[i].GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
                Assert.Equal((int)e.Type, theirs[i].GetProperty("dtype").GetInt32());
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(e.Bytes)), theirs[i].GetProperty("sha256").GetString());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
