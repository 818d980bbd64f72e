using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Interop;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Tests;

/// <summary>A tiny run trained on data prepared with a SentencePiece tokenizer.model, shared by the export tests.</summary>
public sealed class SentencePieceRunFixture : IDisposable
{
    public SentencePieceRunFixture()
    {
        TokenizerFile = Path.Combine(Root, "sp_bpe.model");
        File.Copy(Fixture("sp_bpe.model"), TokenizerFile);
        var text = Path.Combine(Root, "stories.txt");
        new SyntheticStories(4).WriteText(text, 120);
        var data = Path.Combine(Root, "data");
        var prepared = CliRunner.Run("prepare", "--input", text, "--out", data, "--tokenizer", TokenizerFile, "--val-fraction", "0.05");
        Assert.True(prepared.ExitCode == 0, prepared.Stderr + prepared.Stdout);
        Run = Path.Combine(Root, "run");
        var trained = CliRunner.Run("train", "--data", data, "--out_dir", Run, "--max_iters", "4", "--batch_size", "2", "--block_size", "32",
            "--d_model", "32", "--n_layer", "1", "--n_head", "2", "--n_kv_head", "1", "--warmup_iters", "1", "--eval_interval", "4",
            "--eval_iters", "1", "--log_interval", "1", "--device", "cpu");
        Assert.True(trained.ExitCode == 0, trained.Stderr + trained.Stdout);
        Tokenizer = Assert.IsType<SentencePieceTokenizer>(LlmTrainer.Tokenization.Tokenizer.Load(TokenizerFile));
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("llmtrain-cli-spexport-").FullName;

    public string TokenizerFile { get; }

    public string Run { get; }

    public SentencePieceTokenizer Tokenizer { get; }

    /// <summary>Ordinary text (no literal U+2581, where llama2.c's encoder and sentencepiece differ).</summary>
    public static readonly string[] Texts =
    [
        "Once upon a time there was a little dog.",
        "  Tom saw a big red ball, and he said: \"Can I play?\"\n\nThe end.",
        "Lily liked to run in the park with her mom; they laughed 3 times!",
        "naïve café, 東京 and emoji 🙂 fall back to bytes",
    ];

    public static string Fixture(string name, [CallerFilePath] string thisFile = "")
        => Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "LlmTrainer.Tests", "Tokenization", "Fixtures", name);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// A run trained with a SentencePiece tokenizer.model exports to every format with its own tokenizer: GGUF's llama
/// tokenizer (pieces, scores, types), the tokenizer.model in a Hugging Face directory, and llama2.c's tokenizer.bin;
/// each export reloads and encodes as the original.
/// </summary>
public sealed class SentencePieceExportTests(SentencePieceRunFixture fixture) : IClassFixture<SentencePieceRunFixture>
{
    private string Out(string name) => Path.Combine(fixture.Root, "exports-" + Guid.NewGuid().ToString("N")[..8], name);

    private static JsonElement Sample(string checkpoint)
    {
        var (code, stdout, stderr) = CliRunner.Run("sample", "--checkpoint", checkpoint, "--prompt", "Once upon a time", "--max-new-tokens", "8",
                                                   "--temperature", "0", "--json", "--device", "cpu");
        Assert.True(code == 0, stderr);
        return JsonDocument.Parse(stdout).RootElement;
    }

    private double Loss(string checkpoint)
    {
        var text = Path.Combine(fixture.Root, "eval.txt");
        File.WriteAllText(text, "Once upon a time there was a little dog. He liked to run in the park.\n");
        var r = CliRunner.Run("eval", "--checkpoint", checkpoint, "--text", text, "--json", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("loss").GetDouble();
    }

    [Fact]
    public void Gguf_embeds_the_llama_tokenizer_with_the_pieces_scores_and_types()
    {
        var gguf = Out("model.gguf");
        var (code, _, stderr) = CliRunner.Run("export", fixture.Run, "--format", "gguf", "--out", gguf);
        Assert.True(code == 0, stderr);
        var file = GgufFile.Open(gguf);
        var t = fixture.Tokenizer;
        Assert.Equal("llama", file.Metadata["tokenizer.ggml.model"]);
        Assert.False(file.Metadata.ContainsKey("tokenizer.ggml.merges"));
        var tokens = ((List<object>)file.Metadata["tokenizer.ggml.tokens"]).Cast<string>().ToList();
        var scores = ((List<object>)file.Metadata["tokenizer.ggml.scores"]).Cast<float>().ToList();
        var types = ((List<object>)file.Metadata["tokenizer.ggml.token_type"]).Cast<int>().ToList();
        uint vocab = (uint)file.Metadata["llama.vocab_size"];
        Assert.Equal((int)vocab, tokens.Count);
        Assert.Equal(tokens.Count, scores.Count);
        Assert.Equal(tokens.Count, types.Count);
        var ids = Enumerable.Range(0, t.VocabSize).ToList();
        Assert.Equal(ids.Select(t.Piece), tokens.Take(t.VocabSize));
        Assert.Equal(ids.Select(t.Score), scores.Take(t.VocabSize));
        Assert.Equal(ids.Select(i => (int)t.Type(i)), types.Take(t.VocabSize));
        Assert.All(types.Skip(t.VocabSize), type => Assert.Equal(5, type));
        // SentencePiece's piece types are llama.cpp's token types: <unk> 2, <s> and </s> 3, <0x0A> 6, a word 1.
        Assert.Equal(2, types[0]);
        Assert.Equal(3, types[t.BosId]);
        Assert.Equal(6, types[tokens.IndexOf("<0x0A>")]);
        Assert.Equal(1, types[t.Encode("Once")[0]]);
        Assert.Equal((uint)t.BosId, file.Metadata["tokenizer.ggml.bos_token_id"]);
        Assert.Equal((uint)t.EosId, file.Metadata["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(0u, file.Metadata["tokenizer.ggml.unknown_token_id"]);
        Assert.Equal(true, file.Metadata["tokenizer.ggml.add_bos_token"]);
        Assert.Equal(true, file.Metadata["tokenizer.ggml.add_space_prefix"]);
    }

    [Fact]
    public void Hf_ships_the_tokenizer_model_reloads_and_samples_as_the_run()
    {
        var hf = Out("hf");
        var (code, _, stderr) = CliRunner.Run("export", fixture.Run, "--format", "hf", "--out", hf);
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(fixture.TokenizerFile), File.ReadAllBytes(Path.Combine(hf, "tokenizer.model")));
        Assert.False(File.Exists(Path.Combine(hf, "tokenizer.json")));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "config.json"))).RootElement;
        Assert.Equal(fixture.Tokenizer.BosId, config.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(fixture.Tokenizer.EosId, config.GetProperty("eos_token_id").GetInt32());
        var tokConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "tokenizer_config.json"))).RootElement;
        Assert.Equal("LlamaTokenizer", tokConfig.GetProperty("tokenizer_class").GetString());
        Assert.Equal("<s>", tokConfig.GetProperty("bos_token").GetString());
        Assert.Equal("</s>", tokConfig.GetProperty("eos_token").GetString());

        var reloaded = LlmTrainer.Tokenization.Tokenizer.Load(hf);
        Assert.Equal(fixture.Tokenizer.Hash, reloaded.Hash);
        foreach (var text in SentencePieceRunFixture.Texts)
            Assert.Equal(fixture.Tokenizer.Encode(text), reloaded.Encode(text));

        var expected = Sample(fixture.Run);
        var imported = Sample(hf);
        Assert.Equal(expected.GetProperty("prompt_tokens").GetInt32(), imported.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.GetProperty("samples").GetRawText(), imported.GetProperty("samples").GetRawText());
        Assert.Equal(Loss(fixture.Run), Loss(hf), 6);
    }

    [Fact]
    public void Llama2c_writes_the_pieces_as_tokenizer_bin_which_encodes_as_the_original_and_imports_alone()
    {
        var bin = Out("model.bin");
        var dir = Path.GetDirectoryName(bin)!;
        var (code, stdout, stderr) = CliRunner.Run("export", fixture.Run, "--format", "llama2c", "--out", bin);
        Assert.True(code == 0, stderr);
        Assert.Contains(Path.Combine(dir, "tokenizer.bin"), stdout);
        Assert.Equal(File.ReadAllBytes(fixture.TokenizerFile), File.ReadAllBytes(Path.Combine(dir, "tokenizer.model")));
        Assert.False(File.Exists(Path.Combine(dir, "tokenizer.json")));

        // tokenizer.py's layout: <s> and </s> between newlines, U+2581 a space, byte pieces kept, the scores.
        var t = fixture.Tokenizer;
        var tokenizerBin = Assert.IsType<SentencePieceTokenizer>(LlmTrainer.Tokenization.Tokenizer.Load(Path.Combine(dir, "tokenizer.bin")));
        Assert.Equal(TokenizerKind.Llama2c, tokenizerBin.Kind);
        Assert.True(tokenizerBin.VocabSize >= t.VocabSize);
        Assert.Equal("\n<s>\n", tokenizerBin.Piece(1));
        Assert.Equal("\n</s>\n", tokenizerBin.Piece(2));
        for (int id = 3; id < t.VocabSize; id++)
        {
            Assert.Equal(t.Piece(id).Replace('\u2581', ' '), tokenizerBin.Piece(id));
            Assert.Equal(t.Score(id), tokenizerBin.Score(id));
        }
        Assert.Equal(1, tokenizerBin.BosId);
        foreach (var text in SentencePieceRunFixture.Texts)
            Assert.Equal(t.Encode(text), tokenizerBin.Encode(text));

        // No id swap (id 1 is <s> already): the export samples as the run, with its tokenizer.model beside it.
        var expected = Sample(fixture.Run);
        Assert.Equal(expected.GetProperty("samples").GetRawText(), Sample(bin).GetProperty("samples").GetRawText());

        // A llama2.c model with only its tokenizer.bin beside it imports too, and computes the same.
        var alone = Path.Combine(fixture.Root, "alone-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(alone);
        File.Copy(bin, Path.Combine(alone, "model.bin"));
        File.Copy(Path.Combine(dir, "tokenizer.bin"), Path.Combine(alone, "tokenizer.bin"));
        var fromBin = Sample(Path.Combine(alone, "model.bin"));
        Assert.Equal(expected.GetProperty("prompt_tokens").GetInt32(), fromBin.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.GetProperty("tokens").GetInt32(), fromBin.GetProperty("tokens").GetInt32());
        Assert.Equal(Loss(fixture.Run), Loss(Path.Combine(alone, "model.bin")), 6);
    }
}
