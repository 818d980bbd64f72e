using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Tests;

public sealed class PrepareCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmtrain-preparecli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Path_(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Prepare_TrainsATokenizer_AndPrintsASummary()
    {
        string input = Path_("s.txt");
        Assert.Equal(0, DataCommandTests.Run("data", "synth", "--out", input, "--stories", "300").Exit);
        var (exit, stdout, stderr) = DataCommandTests.Run("prepare", "--input", input, "--out", Path_("out"), "--vocab-size", "400",
            "--val-fraction", "0.05", "--dedup", "--shard-tokens", "30000");
        Assert.True(exit == 0, stderr);
        Assert.Contains("prepared", stdout);
        Assert.Contains("300 documents", stdout);
        Assert.Contains("MB/s", stdout);
        Assert.Contains("prepare:", stderr);

        var meta = DatasetMeta.Load(Path_("out"));
        Assert.True(meta.Dedup.Enabled);
        Assert.Equal(300, meta.Train.Documents + meta.Val.Documents);
        Assert.True(meta.Train.Shards.Count > 1);
        var tokenizer = Tokenizer.Load(Path_("out/tokenizer.json"));
        using var ds = TokenDataset.Open(Path_("out"), "train", tokenizer.Hash);
        Assert.Equal(meta.Train.Tokens, ds.TokenCount);
    }

    [Fact]
    public void Prepare_JsonLinesWithAChosenField_AndAGivenTokenizer()
    {
        var stories = new SyntheticStories(2).Stories(100).ToList();
        string tokenizerPath = Path_("tok.json");
        Tokenizer.Train(stories, 300).Save(tokenizerPath);
        File.WriteAllLines(Path_("c.jsonl"), stories.Select(s => JsonSerializer.Serialize(new { body = s })));
        var (exit, stdout, stderr) = DataCommandTests.Run("prepare", "--input", Path_("c.jsonl"), "--out", Path_("out"),
            "--tokenizer", tokenizerPath, "--text-field", "body", "--format", "jsonl");
        Assert.True(exit == 0, stderr);
        Assert.Contains("given", stdout);
        Assert.Equal(Tokenizer.Load(tokenizerPath).Hash, DatasetMeta.Load(Path_("out")).Tokenizer.Hash);
    }

    [Fact]
    public void Prepare_BadInput_PrintsTheFileAndLine_AndSkipBadGoesOn()
    {
        File.WriteAllText(Path_("bad.jsonl"), "{\"text\": \"one story\"}\n{\"text\": \"two\"}\n{\"text\" oops}\n{\"text\": \"three\"}\n");
        var (exit, _, stderr) = DataCommandTests.Run("prepare", "--input", Path_("bad.jsonl"), "--out", Path_("out"), "--vocab-size", "260");
        Assert.Equal(1, exit);
        Assert.Contains($"error: {Path_("bad.jsonl")}:3:", stderr);
        Assert.False(Directory.Exists(Path_("out")));

        var skipped = DataCommandTests.Run("prepare", "--input", Path_("bad.jsonl"), "--out", Path_("out"), "--vocab-size", "260", "--skip-bad");
        Assert.True(skipped.Exit == 0, skipped.Err);
        Assert.Contains("warning:", skipped.Err);
        Assert.Contains("1 bad records skipped", skipped.Out);
    }

    [Fact]
    public void Prepare_TruncatedGzip_IsAnError_AndSkipBadCountsIt()
    {
        string whole = Path_("whole.jsonl.gz");
        using (var file = File.Create(whole))
        using (var gz = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Optimal))
        {
            var lines = string.Concat(new SyntheticStories(3).Stories(200).Select(s => JsonSerializer.Serialize(new { text = s }) + "\n"));
            gz.Write(System.Text.Encoding.UTF8.GetBytes(lines));
        }
        byte[] bytes = File.ReadAllBytes(whole);
        string cut = Path_("cut.jsonl.gz");
        File.WriteAllBytes(cut, bytes[..(bytes.Length * 2 / 3)]);

        var (exit, _, stderr) = DataCommandTests.Run("prepare", "--input", cut, "--out", Path_("out"), "--vocab-size", "300");
        Assert.Equal(1, exit);
        Assert.Contains($"error: {cut}: ", stderr);
        Assert.Contains("truncated", stderr);
        Assert.False(Directory.Exists(Path_("out")));

        var skipped = DataCommandTests.Run("prepare", "--input", cut, "--out", Path_("out"), "--vocab-size", "300", "--skip-bad");
        Assert.True(skipped.Exit == 0, skipped.Err);
        Assert.Contains("truncated", skipped.Err);
        Assert.Contains("1 bad records skipped", skipped.Out);
    }

    [Fact]
    public void Prepare_ABinaryFile_IsRefused_AndInvalidUtf8IsCountedInTheSummary()
    {
        string binary = Path_("ls");
        File.Copy(File.Exists("/bin/ls") ? "/bin/ls" : typeof(PrepareCommandTests).Assembly.Location, binary);
        var (exit, _, stderr) = DataCommandTests.Run("prepare", "--input", binary, "--out", Path_("out"), "--vocab-size", "300");
        Assert.Equal(1, exit);
        Assert.Contains($"error: {binary}: not a text file", stderr);
        Assert.False(Directory.Exists(Path_("out")));

        string text = Path_("s.txt");
        Assert.Equal(0, DataCommandTests.Run("data", "synth", "--out", text, "--stories", "100").Exit);
        File.AppendAllBytes(text, [.. "<|endoftext|>\nna"u8, 0xEF, .. "ve\n"u8]);
        var ok = DataCommandTests.Run("prepare", "--input", text, binary, "--out", Path_("out"), "--vocab-size", "300", "--skip-bad");
        Assert.True(ok.Exit == 0, ok.Err);
        Assert.Contains("not a text file", ok.Err);
        Assert.Contains("1 bad records skipped, 1 invalid UTF-8 sequences replaced", ok.Out);
    }

    [Fact]
    public void Prepare_NeedsATokenizerOrAVocabularySize()
    {
        File.WriteAllText(Path_("s.txt"), "a story");
        var (exit, _, stderr) = DataCommandTests.Run("prepare", "--input", Path_("s.txt"), "--out", Path_("out"));
        Assert.Equal(1, exit);
        Assert.Contains("--vocab-size", stderr);
    }

    [Fact]
    public void Prepare_UnknownFormat_IsRejected()
    {
        var (exit, _, stderr) = DataCommandTests.Run("prepare", "--input", "x", "--out", "y", "--vocab-size", "300", "--format", "xml");
        Assert.NotEqual(0, exit);
        Assert.Contains("xml", stderr);
    }

    private static void WriteParquet(string path, Dictionary<string, string[]> columns, Parquet.CompressionMethod compression)
    {
        var fields = columns.Keys.Select(k => new Parquet.Schema.DataField<string>(k)).ToList();
        using var file = File.Create(path);
        var writer = Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(fields), file, new Parquet.ParquetOptions { CompressionMethod = compression }).GetAwaiter().GetResult();
        try
        {
            using var group = writer.CreateRowGroup();
            foreach (var field in fields)
                group.WriteAsync(field, columns[field.Name]).GetAwaiter().GetResult();
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [Fact]
    public void Prepare_ParquetWithTextFieldAndFilter_AndAValInput()
    {
        var stories = new SyntheticStories(5).Stories(120).ToList();
        Directory.CreateDirectory(Path_("code"));
        WriteParquet(Path_("code/a.parquet"), new()
        {
            ["content"] = stories.Take(60).ToArray(),
            ["lang"] = Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? "rust" : "python").ToArray(),
        }, Parquet.CompressionMethod.Zstd);
        WriteParquet(Path_("code/b.parquet"), new()
        {
            ["content"] = stories.Skip(60).Take(50).ToArray(),
            ["lang"] = Enumerable.Repeat("python", 50).ToArray(),
        }, Parquet.CompressionMethod.Gzip);
        File.WriteAllText(Path_("valid.txt"), string.Join("\n<|endoftext|>\n", stories.Skip(110)));
        var (exit, stdout, stderr) = DataCommandTests.Run("prepare", "--input", Path_("code"), "--out", Path_("out"), "--vocab-size", "400",
            "--text-field", "content", "--filter-field", "lang", "--filter-value", "python", "--val-input", Path_("valid.txt"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("(from --val-input) 10 documents", stdout);
        var meta = DatasetMeta.Load(Path_("out"));
        Assert.Equal(40 + 50, meta.Train.Documents);
        Assert.Equal(10, meta.Val.Documents);
        Assert.Equal(DatasetMeta.FilesSplit, meta.ValSplit);
        Assert.All(meta.Sources, s => Assert.Equal("parquet", s.Format));

        var missing = DataCommandTests.Run("prepare", "--input", Path_("code"), "--out", Path_("out2"), "--vocab-size", "400");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("no column \"text\"", missing.Err);
        var half = DataCommandTests.Run("prepare", "--input", Path_("code"), "--out", Path_("out2"), "--vocab-size", "400", "--filter-field", "lang");
        Assert.Equal(1, half.Exit);
        Assert.Contains("--filter-field and --filter-value go together", half.Err);
        var both = DataCommandTests.Run("prepare", "--input", Path_("code"), "--out", Path_("out2"), "--vocab-size", "400", "--text-field", "content",
            "--val-input", Path_("valid.txt"), "--val-fraction", "0.1");
        Assert.Equal(1, both.Exit);
        Assert.Contains("--val-input and --val-fraction", both.Err);
    }
}
