using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Tests;

/// <summary>Trains one small tokenizer through the CLI, shared by the tests below.</summary>
public sealed class TrainedTokenizerFixture : IDisposable
{
    public TrainedTokenizerFixture()
    {
        var corpus = Path.Combine(Dir, "corpus.txt");
        File.WriteAllLines(corpus, new SyntheticStories(5).Stories(300).SelectMany(s => new[] { s, Tokenizer.EndOfText }));
        TrainResult = TokenizerCommandTests.Run("tokenizer", "train", "--input", corpus, "--vocab-size", "400", "--out", TokenizerPath);
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("llmtrain-tokcli-").FullName;

    public string TokenizerPath => Path.Combine(Dir, "tokenizer.json");

    public (int Exit, string Out, string Err) TrainResult { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class TokenizerCommandTests(TrainedTokenizerFixture fixture) : IClassFixture<TrainedTokenizerFixture>
{
    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built llmtrain.dll as a process, for the paths that read standard input.</summary>
    private static (int Exit, string Out, string Err) RunProcess(string stdin, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        info.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void TrainWritesALoadableTokenizer()
    {
        Assert.Equal(0, fixture.TrainResult.Exit);
        Assert.Contains(fixture.TokenizerPath, fixture.TrainResult.Out);
        Assert.Contains("tokenizer: merges", fixture.TrainResult.Err);
        var t = Tokenizer.Load(fixture.TokenizerPath);
        Assert.Equal(400, t.VocabSize);
        Assert.Equal(399, t.BosId);
    }

    [Fact]
    public void EncodeTextPrintsJsonIdsAndDecodeInvertsThem()
    {
        var t = Tokenizer.Load(fixture.TokenizerPath);
        const string text = "Once upon a time, Lily said \"hi\" 😀";
        var (exit, output, _) = Run("tokenizer", "encode", "--tokenizer", fixture.TokenizerPath, "--text", text);
        Assert.Equal(0, exit);
        var ids = JsonSerializer.Deserialize<int[]>(output)!;
        Assert.Equal(t.Encode(text), ids);

        (exit, output, _) = Run("tokenizer", "decode", "--tokenizer", fixture.TokenizerPath, "--ids", JsonSerializer.Serialize(ids));
        Assert.Equal(0, exit);
        Assert.Equal(text, output);
    }

    [Fact]
    public void AllowSpecialTurnsEndOfTextIntoItsId()
    {
        var (_, plain, _) = Run("tokenizer", "encode", "--tokenizer", fixture.TokenizerPath, "--text", "a<|endoftext|>b");
        var (_, special, _) = Run("tokenizer", "encode", "--tokenizer", fixture.TokenizerPath, "--text", "a<|endoftext|>b", "--allow-special");
        Assert.DoesNotContain(399, JsonSerializer.Deserialize<int[]>(plain)!);
        Assert.Contains(399, JsonSerializer.Deserialize<int[]>(special)!);
    }

    [Fact]
    public void JsonlEncodeAndStdinDecodeWorkThroughAProcess()
    {
        var t = Tokenizer.Load(fixture.TokenizerPath);
        string[] texts = ["Hello world", "line\nbreak and tab\t", "東京 😀"];
        var stdin = string.Join("\n", texts.Select(x => JsonSerializer.Serialize(x))) + "\n";
        var (exit, output, error) = RunProcess(stdin, "tokenizer", "encode", "--tokenizer", fixture.TokenizerPath, "--jsonl");
        Assert.True(exit == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(texts.Length, lines.Length);
        for (int i = 0; i < texts.Length; i++)
            Assert.Equal(t.Encode(texts[i]), JsonSerializer.Deserialize<int[]>(lines[i]));

        (exit, output, error) = RunProcess(lines[2], "tokenizer", "decode", "--tokenizer", fixture.TokenizerPath);
        Assert.True(exit == 0, error);
        Assert.Equal(texts[2], output);
    }

    [Fact]
    public void MissingTokenizerFileIsAOneLineErrorNamingIt()
    {
        var missing = Path.Combine(fixture.Dir, "missing.json");
        var (exit, output, error) = Run("tokenizer", "encode", "--tokenizer", missing, "--text", "x");
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error);
        Assert.Contains(missing, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void MalformedTokenizerFileIsAnErrorNamingIt()
    {
        var bad = Path.Combine(fixture.Dir, "bad.json");
        File.WriteAllText(bad, "{ \"model\": [");
        var (exit, _, error) = Run("tokenizer", "decode", "--tokenizer", bad, "--ids", "[1]");
        Assert.Equal(1, exit);
        Assert.Contains(bad, error);
    }

    [Theory]
    [InlineData("[1, \"x\"]")]
    [InlineData("1 2 3")]
    [InlineData("[1, 999999]")]
    public void BadIdsAreErrors(string ids)
    {
        var (exit, _, error) = Run("tokenizer", "decode", "--tokenizer", fixture.TokenizerPath, "--ids", ids);
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", error);
    }

    [Fact]
    public void TrainRejectsMissingInputAndUnknownPattern()
    {
        var missing = Path.Combine(fixture.Dir, "nope.txt");
        var (exit, _, error) = Run("tokenizer", "train", "--input", missing, "--vocab-size", "300", "--out", Path.Combine(fixture.Dir, "x.json"));
        Assert.Equal(1, exit);
        Assert.Contains(missing, error);
        (exit, _, error) = Run("tokenizer", "train", "--input", fixture.TokenizerPath, "--vocab-size", "300", "--pattern", "bert", "--out", Path.Combine(fixture.Dir, "x.json"));
        Assert.Equal(1, exit);
        Assert.Contains("'bert'", error);
    }

    [Fact]
    public void DocumentsAreSplitOnEndOfTextLines()
    {
        var file = Path.Combine(fixture.Dir, "docs.txt");
        File.WriteAllLines(file, ["first line", "second line", "<|endoftext|>", "", "<|endoftext|>", "third", " <|endoftext|> "]);
        Assert.Equal(["first line\nsecond line", "third"], Commands.TokenizerCommand.ReadDocuments([file]));
    }
}
