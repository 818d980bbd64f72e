using System.Text.Json;
using LlmTrainer.Interop;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Interop;

/// <summary>
/// Exports of models whose tokenizer is llama2.c's tokenizer.bin or a Llama-style tokenizer.json: what each format can
/// carry is written with the right pieces, and what it cannot is refused before anything is written.
/// </summary>
public sealed class SentencePieceExportTests
{
    private static string Fixture(string name) => LlmTrainer.Tests.Tokenization.TokenizerTestData.Fixture(name);

    private static (LlmTrainer.Model.Llama Model, ExportSource Source) Source(Tokenizer tokenizer)
    {
        // Four ids of padding above the tokenizer, as a vocabulary rounded up leaves.
        var model = InteropFixture.Model(InteropFixture.RunCConfig(tied: true) with { VocabSize = tokenizer.VocabSize + 4 });
        return (model, InteropFixture.Source(model, tokenizer));
    }

    [Fact]
    public void A_tokenizer_bin_gguf_has_the_pieces_and_scores_of_the_tokenizer_model_it_came_from()
    {
        using var scope = torch.NewDisposeScope();
        var model = Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(Fixture("sp_bpe.model")));
        var bin = Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(Fixture("sp_bpe.tokenizer.bin")));
        var (llama, source) = Source(bin);
        using var _ = llama;
        var dir = InteropFixture.TempDirectory();
        try
        {
            var path = Path.Combine(dir, "model.gguf");
            ModelExport.Export(source, ExportFormat.Gguf, path, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            var file = GgufFile.Open(path);
            Assert.Equal("llama", file.Metadata["tokenizer.ggml.model"]);
            var tokens = ((List<object>)file.Metadata["tokenizer.ggml.tokens"]).Cast<string>().ToList();
            var scores = ((List<object>)file.Metadata["tokenizer.ggml.scores"]).Cast<float>().ToList();
            var types = ((List<object>)file.Metadata["tokenizer.ggml.token_type"]).Cast<int>().ToList();
            Assert.Equal(model.VocabSize + 4, tokens.Count);
            for (int id = 0; id < model.VocabSize; id++)
            {
                Assert.Equal(model.Piece(id), tokens[id]);
                Assert.Equal(model.Score(id), scores[id]);
            }
            Assert.Equal([2, 3, 3], types.Take(3));
            Assert.Equal(6, types[tokens.IndexOf("<0x41>")]);
            Assert.Equal([5, 5, 5, 5], types.Skip(model.VocabSize));
            Assert.Equal(1u, file.Metadata["tokenizer.ggml.bos_token_id"]);
            Assert.Equal(2u, file.Metadata["tokenizer.ggml.eos_token_id"]);
            Assert.Equal(true, file.Metadata["tokenizer.ggml.add_space_prefix"]);

            // The npm package @huggingface/gguf reads the same arrays.
            var (code, output) = Llama2cExportTests.Run("node", [GgufExportTests.NodeReader(), path]);
            Assert.True(code == 0, $"node could not parse the export ({code}): {output}");
            using var doc = JsonDocument.Parse(output);
            var metadata = doc.RootElement.GetProperty("metadata");
            Assert.Equal("llama", metadata.GetProperty("tokenizer.ggml.model").GetString());
            Assert.Equal(tokens, metadata.GetProperty("tokenizer.ggml.tokens").EnumerateArray().Select(t => t.GetString()!));
            Assert.Equal(scores, metadata.GetProperty("tokenizer.ggml.scores").EnumerateArray().Select(t => t.GetSingle()));
            Assert.Equal(types, metadata.GetProperty("tokenizer.ggml.token_type").EnumerateArray().Select(t => t.GetInt32()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tokenizer_bin_llama2c_export_writes_run_cs_file_alone()
    {
        using var scope = torch.NewDisposeScope();
        var bin = Tokenizer.Load(Fixture("sp_bpe.tokenizer.bin"));
        var (llama, source) = Source(bin);
        using var _ = llama;
        var dir = InteropFixture.TempDirectory();
        try
        {
            var path = Path.Combine(dir, "l2c", "model.bin");
            var result = ModelExport.Export(source, ExportFormat.Llama2c, path, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            Assert.Equal([path, Path.Combine(dir, "l2c", "tokenizer.bin")], result.Files);
            var written = Tokenizer.Load(result.Files[1]);
            Assert.Equal(bin.VocabSize + 4, written.VocabSize);
            foreach (var text in new[] { "Once upon a time, Tom saw a ball.", "naïve 東京 🙂" })
                Assert.Equal(bin.Encode(text), written.Encode(text));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tokenizer_bin_goes_to_hf_as_the_tokenizer_model_it_was_made_from()
    {
        using var scope = torch.NewDisposeScope();
        var original = Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(Fixture("sp_bpe.model")));
        var bin = Tokenizer.Load(Fixture("sp_bpe.tokenizer.bin"));
        var (llama, source) = Source(bin);
        using var _ = llama;
        var dir = InteropFixture.TempDirectory();
        try
        {
            var hf = Path.Combine(dir, "hf");
            ModelExport.Export(source, ExportFormat.Hf, hf, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            Assert.False(File.Exists(Path.Combine(hf, "tokenizer.json")));
            var path = Path.Combine(hf, "tokenizer.model");
            var written = Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(path));
            Assert.Equal(TokenizerKind.SentencePiece, written.Kind);
            Assert.Equal(original.VocabSize, written.VocabSize);
            for (int id = 0; id < original.VocabSize; id++)
            {
                Assert.Equal(original.Piece(id), written.Piece(id));
                Assert.Equal(original.Score(id), written.Score(id));
                Assert.Equal(original.Type(id), written.Type(id));
            }
            Assert.Equal((1, 2), (written.BosId, written.EosId));
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json")));
            Assert.Equal("LlamaTokenizer", config.RootElement.GetProperty("tokenizer_class").GetString());
            Assert.Equal("<s>", config.RootElement.GetProperty("bos_token").GetString());

            // Ours and an independent sentencepiece reader (Microsoft.ML.Tokenizers) encode as the original model and run.c's file.
            using var stream = File.OpenRead(path);
            var oracle = Microsoft.ML.Tokenizers.LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            foreach (var text in new[] { "Once upon a time, Tom saw a ball.", "  two  spaces\nand a line", "naïve 東京 🙂 42" })
            {
                var expected = original.Encode(text);
                Assert.Equal(expected, written.Encode(text));
                Assert.Equal(expected, bin.Encode(text));
                Assert.Equal(expected, oracle.EncodeToIds(text));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_llama_style_tokenizer_json_goes_to_hf_as_it_is_and_gguf_and_llama2c_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        var json = Tokenizer.Load(Fixture("sp_bpe.tokenizer.json"));
        Assert.Equal(TokenizerKind.SentencePieceJson, json.Kind);
        var (llama, source) = Source(json);
        using var _ = llama;
        var dir = InteropFixture.TempDirectory();
        try
        {
            var hf = Path.Combine(dir, "hf");
            ModelExport.Export(source, ExportFormat.Hf, hf, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            Assert.Equal(File.ReadAllBytes(Fixture("sp_bpe.tokenizer.json")), File.ReadAllBytes(Path.Combine(hf, "tokenizer.json")));
            Assert.False(File.Exists(Path.Combine(hf, "tokenizer.model")));
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json")));
            Assert.Equal("LlamaTokenizerFast", config.RootElement.GetProperty("tokenizer_class").GetString());
            Assert.Equal(json.Hash, Tokenizer.Load(hf).Hash);

            foreach (var (format, name) in new[] { (ExportFormat.Gguf, "gguf"), (ExportFormat.Llama2c, "llama2c") })
            {
                var output = Path.Combine(dir, name, "model.bin");
                var e = Assert.Throws<LlmTrainerException>(() => ModelExport.Export(source, format, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes));
                Assert.Contains($"--format {name}", e.Message);
                Assert.Contains("Llama-style tokenizer.json", e.Message);
                Assert.False(Directory.Exists(Path.Combine(dir, name)) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, name)).Any());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tokenizer_model_that_collapses_spaces_goes_to_hf_and_is_refused_where_llama_cpp_and_run_c_would_encode_otherwise()
    {
        using var scope = torch.NewDisposeScope();
        // sentencepiece's defaults: remove_extra_whitespaces, no byte fallback, a user-defined piece.
        var plain = Tokenizer.Load(Fixture("sp_plain.model"));
        var (llama, source) = Source(plain);
        using var _ = llama;
        var dir = InteropFixture.TempDirectory();
        try
        {
            var hf = Path.Combine(dir, "hf");
            ModelExport.Export(source, ExportFormat.Hf, hf, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            Assert.Equal(File.ReadAllBytes(Fixture("sp_plain.model")), File.ReadAllBytes(Path.Combine(hf, "tokenizer.model")));
            Assert.Equal(plain.Hash, Tokenizer.Load(hf).Hash);

            foreach (var (format, name) in new[] { (ExportFormat.Gguf, "gguf"), (ExportFormat.Llama2c, "llama2c") })
            {
                var output = Path.Combine(dir, name, "model.bin");
                var e = Assert.Throws<LlmTrainerException>(() => ModelExport.Export(source, format, output, WeightDtype.F32, HfExport.DefaultMaxShardBytes));
                Assert.Contains($"--format {name}", e.Message);
                Assert.Contains("SentencePiece tokenizer.model", e.Message);
                Assert.Contains("remove_extra_whitespaces", e.Message);
                Assert.False(File.Exists(output));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
