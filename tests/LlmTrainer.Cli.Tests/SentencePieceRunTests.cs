using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Tests;

/// <summary>
/// prepare → train → sample → eval with a SentencePiece tokenizer.model: every document starts with &lt;s&gt;, the
/// prepared directory and the run keep the tokenizer.model, and sampling prefixes prompts with &lt;s&gt;.
/// </summary>
public sealed class SentencePieceRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("llmtrain-cli-sp-").FullName;

    private static string Fixture(string name, [CallerFilePath] string thisFile = "")
        => Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "LlmTrainer.Tests", "Tokenization", "Fixtures", name);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("sp_bpe.model", "tokenizer.model", "sentencepiece")]
    [InlineData("sp_bpe.tokenizer.bin", "tokenizer.bin", "llama2c")]
    [InlineData("sp_bpe.tokenizer.json", "tokenizer.json", "sentencepiece_json")]
    public void Prepare_train_sample_and_eval_start_documents_with_the_tokenizers_bos(string fixture, string fileName, string kind)
    {
        var tokenizerFile = Path.Combine(_root, Path.GetFileName(fixture));
        File.Copy(Fixture(fixture), tokenizerFile);
        var tokenizer = Tokenizer.Load(tokenizerFile);
        Assert.Equal(1, tokenizer.BosId);
        var text = Path.Combine(_root, "stories.txt");
        new SyntheticStories(4).WriteText(text, 120);
        var data = Path.Combine(_root, "data");

        var prepared = CliRunner.Run("prepare", "--input", text, "--out", data, "--tokenizer", tokenizerFile, "--val-fraction", "0.05");
        Assert.True(prepared.ExitCode == 0, prepared.Stderr + prepared.Stdout);
        var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "meta.json"))).RootElement;
        var tok = meta.GetProperty("tokenizer");
        Assert.Equal(fileName, tok.GetProperty("file").GetString());
        Assert.Equal(kind, tok.GetProperty("kind").GetString());
        Assert.Equal(1, tok.GetProperty("end_of_text_id").GetInt32());
        Assert.Equal(File.ReadAllBytes(tokenizerFile), File.ReadAllBytes(Path.Combine(data, fileName)));

        // Every document of the shard starts with <s>: as many <s> as documents, the first token one of them.
        var shard = File.ReadAllBytes(Path.Combine(data, LlmTrainer.Data.ShardSetWriter.ShardFileName("train", 0)));
        var tokens = new ushort[(shard.Length - 1024) / 2];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = BinaryPrimitives.ReadUInt16LittleEndian(shard.AsSpan(1024 + 2 * i));
        Assert.Equal(1, tokens[0]);
        Assert.Equal(meta.GetProperty("train").GetProperty("documents").GetInt64(), tokens.Count(t => t == 1));

        var run = Path.Combine(_root, "run");
        var trained = CliRunner.Run("train", "--data", data, "--out_dir", run, "--max_iters", "2", "--batch_size", "2", "--block_size", "32",
            "--d_model", "32", "--n_layer", "1", "--n_head", "2", "--n_kv_head", "1", "--warmup_iters", "1", "--eval_interval", "2",
            "--eval_iters", "1", "--log_interval", "1", "--device", "cpu");
        Assert.True(trained.ExitCode == 0, trained.Stderr + trained.Stdout);
        Assert.Equal(File.ReadAllBytes(tokenizerFile), File.ReadAllBytes(Path.Combine(run, fileName)));

        var sample = CliRunner.Run("sample", "--checkpoint", run, "--prompt", "Once upon a time", "--max-new-tokens", "3", "--temperature", "0",
            "--json", "--device", "cpu");
        Assert.True(sample.ExitCode == 0, sample.Stderr);
        Assert.Equal(tokenizer.Encode("Once upon a time").Length + 1, JsonDocument.Parse(sample.Stdout).RootElement.GetProperty("prompt_tokens").GetInt32());

        var eval = CliRunner.Run("eval", "--checkpoint", run, "--split", "val", "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
    }
}
