using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;
using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Progress;
using LlmTrainer.Tests.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Interop;

[Collection("torch")]
public sealed class HfExportTests
{
    private static JsonElement Reference() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Interop", "Fixtures", "hf_logits.json"))).RootElement;

    [Fact]
    public void The_export_is_the_committed_fixture_and_a_reference_forward_reading_it_gives_our_logits()
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.WriteFixtures && !File.Exists(Path.Combine(InteropFixture.HfDirectory, "tokenizer.json"))
            ? LlmTrainer.Tokenization.Tokenizer.Train(new SyntheticStories(3).Stories(200), 300)
            : InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(InteropFixture.HfConfig);
        var dir = InteropFixture.TempDirectory();
        try
        {
            var output = Path.Combine(dir, "hf");
            ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Hf, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            if (InteropFixture.WriteFixtures)
            {
                var target = Path.Combine(InteropFixture.SourceDirectory, "hf");
                Directory.CreateDirectory(target);
                foreach (var file in Directory.EnumerateFiles(output))
                    File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
                return;
            }
            // make_hf_fixture.py read exactly these files.
            foreach (var name in new[] { "model.safetensors", "config.json" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(InteropFixture.HfDirectory, name)), File.ReadAllBytes(Path.Combine(output, name)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        var reference = Reference();
        var ids = reference.GetProperty("ids").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal(InteropFixture.Ids, ids);
        var expected = LlamaTests.Floats(reference.GetProperty("logits"));
        var logits = InteropFixture.Logits(model, ids);
        Assert.Equal(expected.shape, logits.shape);
        double diff = (logits - expected).abs().max().item<float>();
        Assert.True(diff <= 1e-5, $"our logits differ from the Hugging Face reference forward by {diff}");
        Assert.True(expected.abs().max().item<float>() > 0.5, "the reference logits are too small to tell anything apart");
    }

    [Fact]
    public void Config_json_describes_the_model_as_transformers_reads_it()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(InteropFixture.HfDirectory, "config.json")));
        var c = doc.RootElement;
        Assert.Equal("LlamaForCausalLM", c.GetProperty("architectures")[0].GetString());
        Assert.Equal("llama", c.GetProperty("model_type").GetString());
        Assert.Equal(300, c.GetProperty("vocab_size").GetInt32());
        Assert.Equal(16, c.GetProperty("hidden_size").GetInt32());
        Assert.Equal(40, c.GetProperty("intermediate_size").GetInt32());
        Assert.Equal(2, c.GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal(4, c.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(2, c.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(16, c.GetProperty("max_position_embeddings").GetInt32());
        Assert.Equal(1e-6, c.GetProperty("rms_norm_eps").GetDouble());
        Assert.Equal(500, c.GetProperty("rope_theta").GetDouble());
        Assert.False(c.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal("float32", c.GetProperty("torch_dtype").GetString());
        var tokenizer = InteropFixture.Tokenizer();
        Assert.Equal(tokenizer.EndOfTextId, c.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(tokenizer.EndOfTextId, c.GetProperty("eos_token_id").GetInt32());
        Assert.Equal(InteropFixture.HfConfig, HfConfigJson.Read(Path.Combine(InteropFixture.HfDirectory, "config.json")));
    }

    [Fact]
    public void The_committed_export_imports_with_the_same_weights()
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.HfConfig);
        using var imported = TrainedModel.Load(InteropFixture.HfDirectory, "cpu");
        Assert.Equal("Hugging Face", imported.ImportedFormat);
        Assert.Null(imported.Run);
        Assert.Equal(InteropFixture.Tokenizer().Hash, imported.Tokenizer.Hash);
        AssertSameWeights(model.state_dict(), imported.Model.state_dict());
    }

    [Theory]
    [InlineData(WeightDtype.F32, "F32")]
    [InlineData(WeightDtype.F16, "F16")]
    [InlineData(WeightDtype.BF16, "BF16")]
    public void Shards_and_dtypes_round_trip_through_an_import(WeightDtype dtype, string header)
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.HfConfig);
        var dir = InteropFixture.TempDirectory();
        try
        {
            var output = Path.Combine(dir, "hf");
            // 8 kB shards: the 300×16 embedding alone is 19 kB in float32, so every big tensor gets a shard of its own.
            ModelExport.Export(InteropFixture.Source(model, InteropFixture.Tokenizer()), ExportFormat.Hf, output, dtype, 8_000);
            var index = Path.Combine(output, HfExport.IndexFileName);
            Assert.True(File.Exists(index));
            Assert.False(File.Exists(Path.Combine(output, HfExport.SingleFileName)));
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var map = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            Assert.Equal(model.state_dict().Keys.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
            var shards = map.Values.Distinct().ToList();
            Assert.True(shards.Count > 3);
            Assert.All(shards, s => Assert.Matches($"^model-\\d{{5}}-of-{shards.Count:D5}\\.safetensors$", s));
            long total = 0;
            foreach (var shard in shards)
            {
                using var file = SafetensorsFile.Open(Path.Combine(output, shard));
                Assert.Equal("pt", file.Metadata["format"]);
                Assert.All(file.Tensors, t => Assert.Equal(header, t.Dtype.HeaderName()));
                total += file.Tensors.Sum(t => t.ByteLength);
            }
            Assert.Equal(total, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());

            using var imported = TrainedModel.Load(output, "cpu");
            var expected = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(dtype.ToScalarType()).to(ScalarType.Float32));
            AssertSameWeights(expected, imported.Model.state_dict());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_mixture_of_experts_exports_as_mixtral_and_imports_back_bit_for_bit()
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.MoeConfig);
        var dir = InteropFixture.TempDirectory();
        try
        {
            var output = Path.Combine(dir, "hf");
            var source = InteropFixture.Source(model, InteropFixture.Tokenizer()) with { RouterAuxLossCoef = 0.02 };
            ModelExport.Export(source, ExportFormat.Hf, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json"))))
            {
                var c = doc.RootElement;
                Assert.Equal("MixtralForCausalLM", c.GetProperty("architectures")[0].GetString());
                Assert.Equal("mixtral", c.GetProperty("model_type").GetString());
                Assert.Equal(3, c.GetProperty("num_local_experts").GetInt32());
                Assert.Equal(2, c.GetProperty("num_experts_per_tok").GetInt32());
                Assert.Equal(0.02, c.GetProperty("router_aux_loss_coef").GetDouble());
            }
            using (var file = SafetensorsFile.Open(Path.Combine(output, HfExport.SingleFileName)))
            {
                Assert.Contains("model.layers.1.block_sparse_moe.experts.2.w3.weight", file.Tensors.Select(t => t.Name));
                Assert.Contains("model.layers.0.block_sparse_moe.gate.weight", file.Tensors.Select(t => t.Name));
            }
            using var imported = TrainedModel.Load(output, "cpu");
            Assert.Equal(InteropFixture.MoeConfig, imported.Model.Config);
            AssertSameWeights(model.state_dict(), imported.Model.state_dict());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tied_model_has_no_lm_head_and_an_existing_directory_is_not_overwritten()
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.RunCConfig(tied: true));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var output = Path.Combine(dir, "hf");
            var source = InteropFixture.Source(model, InteropFixture.Tokenizer());
            ModelExport.Export(source, ExportFormat.Hf, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            using (var file = SafetensorsFile.Open(Path.Combine(output, HfExport.SingleFileName)))
                Assert.DoesNotContain("lm_head.weight", file.Tensors.Select(t => t.Name));
            Assert.True(HfConfigJson.Read(Path.Combine(output, "config.json")).TieEmbeddings);
            var before = File.ReadAllBytes(Path.Combine(output, "config.json"));
            var e = Assert.Throws<LlmTrainerException>(() =>
                ModelExport.Export(source, ExportFormat.Hf, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes));
            Assert.Contains("already exists", e.Message);
            Assert.Equal(before, File.ReadAllBytes(Path.Combine(output, "config.json")));
            Assert.DoesNotContain(Directory.EnumerateDirectories(dir), d => d.Contains(".tmp-", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static void AssertSameWeights(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in expected)
        {
            Assert.Equal(t.shape, actual[name].shape);
            Assert.True(t.to(ScalarType.Float32).ToBytes().AsSpan().SequenceEqual(actual[name].to(ScalarType.Float32).ToBytes()), $"{name} differs");
        }
    }
}
