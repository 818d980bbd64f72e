using System.Text;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class DocumentReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<Document> ReadAll(string path, ReadOptions? options = null, RecordingProgress? progress = null)
        => new DocumentReader([path], options, progress).Read().ToList();

    private const string TinyStoriesText =
        "\uFEFFOnce upon a time, there was a cat.\r\n\r\nThe cat was happy.\r\n<|endoftext|>\r\n" +
        "Lily had a red ball.\n<|endoftext|>\n\n   \n" +
        "Tom ran fast. <|endoftext|> Sam sat down.\n";

    [Fact]
    public void Txt_SplitsOnSeparatorLines_KeepsInnerLineBreaks_AndStartLines()
    {
        var docs = ReadAll(_dir.Write("stories.txt", TinyStoriesText));
        Assert.Equal(["Once upon a time, there was a cat.\n\nThe cat was happy.", "Lily had a red ball.", "Tom ran fast.", "Sam sat down."],
            docs.Select(d => d.Text));
        Assert.Equal([1L, 5, 9, 9], docs.Select(d => d.Line));
    }

    [Fact]
    public void Txt_Gzip_ReadsTheSame()
    {
        var plain = ReadAll(_dir.Write("a.txt", TinyStoriesText)).Select(d => d.Text);
        var gz = ReadAll(_dir.WriteGzip("a.txt.gz", TinyStoriesText)).Select(d => d.Text);
        Assert.Equal(plain, gz);
    }

    [Fact]
    public void Txt_DocumentWithoutSeparatorsBeyondLimit_IsAnErrorNamingFileAndLine()
    {
        string path = _dir.Write("big.txt", "ok\n<|endoftext|>\n" + string.Concat(Enumerable.Repeat("0123456789\n", 100)));
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path, new ReadOptions(MaxDocumentBytes: 500)));
        Assert.Contains($"{path}:3", e.Message);
        Assert.Contains("longer than 500 bytes", e.Message);
    }

    [Fact]
    public void Json_ArrayOfObjects_StreamsAcrossBufferBoundaries()
    {
        var sb = new StringBuilder("[\n");
        var expected = new List<string>();
        for (int i = 0; i < 3000; i++)
        {
            // Varying lengths and a nested value before the field, so values straddle the 64 KiB read buffer.
            string story = $"Story {i}: " + new string((char)('a' + i % 26), i % 97) + " \u00e9\u4e2d \ud83d\ude00 \"quoted\"\n";
            expected.Add(story.Trim());
            sb.Append($"  {{\"instruction\": {{\"words\": [\"x\", {{\"y\": [1, 2]}}]}}, \"story\": {System.Text.Json.JsonSerializer.Serialize(story)}, \"n\": {i}}}");
            sb.Append(i < 2999 ? ",\n" : "\n");
        }
        // One value far longer than the initial buffer.
        sb.Insert(2, $"  {{\"story\": \"{new string('z', 200_000)}\"}},\n");
        expected.Insert(0, new string('z', 200_000));
        sb.Append(']');
        string path = _dir.Write("data00.json", sb.ToString());

        var docs = ReadAll(path);

        Assert.Equal(expected, docs.Select(d => d.Text));
        Assert.Equal(2, docs[0].Line);
        Assert.Equal(3, docs[1].Line);
        Assert.Equal(3002, docs[^1].Line);
    }

    [Fact]
    public void Json_Gzip_AndCustomField()
    {
        string json = "[{\"text\": \"one\", \"story\": \"nope\"}, {\"text\": \"two\"}]";
        var docs = ReadAll(_dir.WriteGzip("x.json.gz", json), new ReadOptions(TextField: "text"));
        Assert.Equal(["one", "two"], docs.Select(d => d.Text));
    }

    [Fact]
    public void Json_MissingField_ErrorNamesFileAndObjectLine()
    {
        string path = _dir.Write("bad.json", "[\n{\"story\": \"fine\"},\n{\"title\": \"no story\"}\n]");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains($"{path}:3", e.Message);
        Assert.Contains("no \"story\" field", e.Message);
    }

    [Fact]
    public void Json_Malformed_ErrorNamesFileAndLine()
    {
        string path = _dir.Write("bad.json", "[\n{\"story\": \"a\"},\n{\"story\": \"b\"},\n{\"story\" \"c\"}\n]");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains($"{path}:4", e.Message);
        Assert.Contains("malformed JSON", e.Message);
    }

    [Fact]
    public void Json_MalformedAfterManyBuffers_ReportsTheFileLine()
    {
        var sb = new StringBuilder("[\n");
        for (int i = 0; i < 5000; i++)
            sb.Append($"{{\"story\": \"story number {i} with some padding text to fill buffers\"}},\n");
        sb.Append("{\"story\": tru}\n]");
        string path = _dir.Write("late.json", sb.ToString());
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains($"{path}:5002", e.Message);
    }

    [Fact]
    public void Json_FieldOfWrongType_IsAnError()
    {
        string path = _dir.Write("bad.json", "[{\"story\": 42}]");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains($"{path}:1", e.Message);
        Assert.Contains("is a number, not a string", e.Message);
    }

    [Fact]
    public void Json_Truncated_IsAnError()
    {
        string path = _dir.Write("cut.json", "[{\"story\": \"a\"}, {\"story\": \"b");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Jsonl_DefaultTextField_SkipsBlankLines()
    {
        string path = _dir.Write("c.jsonl", "{\"text\": \"first\", \"meta\": {\"a\": [1]}}\n\n{\"prompt\": \"p\", \"text\": \"second\\nline\"}\r\n");
        var docs = ReadAll(path);
        Assert.Equal(["first", "second\nline"], docs.Select(d => d.Text));
        Assert.Equal([1L, 3], docs.Select(d => d.Line));
    }

    [Fact]
    public void Jsonl_Gzip_WithChosenField()
    {
        var docs = ReadAll(_dir.WriteGzip("c.jsonl.gz", "{\"body\": \"x\"}\n{\"body\": \"y\"}\n"), new ReadOptions(TextField: "body"));
        Assert.Equal(["x", "y"], docs.Select(d => d.Text));
    }

    [Theory]
    [InlineData("{\"text\": \"a\"}\n{\"text\": \"b\"\n{\"text\": \"c\"}\n", 2, "malformed JSON")]
    [InlineData("{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"txt\": \"c\"}\n", 3, "no \"text\" field")]
    [InlineData("{\"text\": \"a\"}\n[1, 2]\n", 2, "expected a JSON object")]
    [InlineData("{\"text\": \"a\"} {\"text\": \"b\"}\n", 1, "malformed JSON")]
    [InlineData("{\"text\": null}\n", 1, "is null, not a string")]
    public void Jsonl_BadLine_ErrorNamesFileAndLine(string content, int line, string problem)
    {
        string path = _dir.Write("bad.jsonl", content);
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains($"{path}:{line}:", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains("--skip-bad", e.Message);
    }

    [Fact]
    public void SkipBad_CountsAndWarns_AndKeepsGoodRecords()
    {
        string path = _dir.Write("bad.jsonl", "{\"text\": \"a\"}\n{oops\n{\"other\": 1}\n{\"text\": \"d\"}\n");
        var progress = new RecordingProgress();
        var reader = new DocumentReader([path], new ReadOptions(SkipBad: true), progress);
        var docs = reader.Read().ToList();
        Assert.Equal(["a", "d"], docs.Select(d => d.Text));
        Assert.Equal(2, reader.SkippedRecords);
        Assert.Equal(2, progress.Warnings.Count);
        Assert.Contains(progress.Warnings, w => w.Contains($"{path}:2"));
        Assert.Contains(progress.Warnings, w => w.Contains($"{path}:3"));
    }

    [Fact]
    public void EmptyFile_IsAnErrorNamingTheFile()
    {
        string path = _dir.Write("empty.txt", "  \n\n");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("no documents", e.Message);
    }

    [Fact]
    public void EmptyFileAmongOthers_WithSkipBad_IsAWarning()
    {
        _dir.Write("in/a.txt", "story a");
        _dir.Write("in/b.jsonl", "");
        var reader = new DocumentReader([_dir.File("in")], new ReadOptions(SkipBad: true));
        Assert.Equal(["story a"], reader.Read().Select(d => d.Text));
        Assert.Equal(1, reader.SkippedRecords);
    }

    [Fact]
    public void NoDocumentsAtAll_IsAnErrorEvenWithSkipBad()
    {
        string path = _dir.Write("empty.jsonl", "");
        Assert.Throws<LlmTrainerException>(() => ReadAll(path, new ReadOptions(SkipBad: true)));
    }

    [Fact]
    public void CorruptGzip_IsAnErrorNamingTheFile()
    {
        string path = _dir.File("broken.txt.gz");
        byte[] good = File.ReadAllBytes(_dir.WriteGzip("good.txt.gz", string.Concat(Enumerable.Repeat("some story text\n<|endoftext|>\n", 2000))));
        File.WriteAllBytes(path, good[..(good.Length / 2)].Concat(new byte[64]).ToArray());
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("cannot read file", e.Message);
    }

    private string TruncatedJsonlGzip(string name, out int documents)
    {
        documents = 200;
        var lines = string.Concat(Enumerable.Range(0, documents).Select(i => $"{{\"text\": \"document {i}: {new string((char)('a' + i % 26), 40 + i % 50)}\"}}\n"));
        byte[] whole = File.ReadAllBytes(_dir.WriteGzip(name + ".whole.gz", lines));
        string path = _dir.File(name);
        File.WriteAllBytes(path, whole[..(whole.Length * 2 / 3)]);
        return path;
    }

    [Fact]
    public void TruncatedGzip_IsAnErrorNamingTheFile()
    {
        string path = TruncatedJsonlGzip("cut.jsonl.gz", out _);
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("--skip-bad", e.Message);
    }

    [Fact]
    public void TruncatedGzip_WithSkipBad_KeepsWhatWasReadAndCountsIt()
    {
        string path = TruncatedJsonlGzip("cut.jsonl.gz", out int all);
        var progress = new RecordingProgress();
        var reader = new DocumentReader([path], new ReadOptions(SkipBad: true), progress);
        int read = reader.Read().Count();
        Assert.InRange(read, 1, all - 1);
        Assert.Equal(1, reader.SkippedRecords);
        Assert.Contains(progress.Warnings, w => w.Contains(path) && w.Contains("truncated"));
    }

    [Fact]
    public void ConcatenatedGzipMembers_AreOneCompleteFile()
    {
        byte[] a = File.ReadAllBytes(_dir.WriteGzip("a.gz", "{\"text\": \"one\"}\n"));
        byte[] b = File.ReadAllBytes(_dir.WriteGzip("b.gz", string.Concat(Enumerable.Repeat("{\"text\": \"two\"}\n", 300))));
        string path = _dir.File("ab.jsonl.gz");
        File.WriteAllBytes(path, [.. a, .. b]);
        Assert.Equal(301, ReadAll(path).Count);
        // Cut inside the second member: still caught by the member walk.
        File.WriteAllBytes(path, [.. a, .. b[..(b.Length - 9)]]);
        Assert.Contains("truncated", Assert.Throws<LlmTrainerException>(() => ReadAll(path)).Message);
    }

    [Fact]
    public void BinaryFile_IsRefusedNamingTheFile_OrSkippedAndCounted()
    {
        string path = _dir.File("program");
        var random = new Random(5);
        byte[] bytes = new byte[20_000];
        random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a text file", e.Message);

        string good = _dir.Write("good.txt", "a story");
        var progress = new RecordingProgress();
        var reader = new DocumentReader([path, good], new ReadOptions(SkipBad: true), progress);
        Assert.Equal(["a story"], reader.Read().Select(d => d.Text));
        Assert.Equal(1, reader.SkippedRecords);
        Assert.Contains(progress.Warnings, w => w.Contains(path) && w.Contains("not a text file"));
    }

    [Fact]
    public void MostlyInvalidUtf8WithoutNuls_IsRefused_EvenWithATextExtension()
    {
        byte[] bytes = Enumerable.Range(0, 3000).Select(i => (byte)(i % 2 == 0 ? 0xE9 : 'a')).ToArray();
        string path = _dir.File("latin.txt");
        File.WriteAllBytes(path, bytes);
        Assert.Contains("not valid UTF-8", Assert.Throws<LlmTrainerException>(() => ReadAll(path)).Message);
        string gz = _dir.File("nul.jsonl.gz");
        using (var file = File.Create(gz))
        using (var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
            zip.Write("{\"text\": \"a\0b\"}\n"u8);
        Assert.Contains("NUL bytes", Assert.Throws<LlmTrainerException>(() => ReadAll(gz)).Message);
    }

    [Fact]
    public void StrayInvalidUtf8_IsReplacedAndCountedOverTheWholeInput()
    {
        // Valid text first, so the sniffed block is clean; the bad bytes come later, in every format.
        var text = new List<byte>();
        text.AddRange(Encoding.UTF8.GetBytes(new string('x', 5000) + "\n<|endoftext|>\ncaf"));
        text.AddRange([0xE9, (byte)' ', 0xFF, 0xFE, (byte)'!']);
        string txt = _dir.File("a.txt");
        File.WriteAllBytes(txt, text.ToArray());
        var reader = new DocumentReader([txt]);
        var docs = reader.Read().ToList();
        Assert.Equal("caf\uFFFD \uFFFD\uFFFD!", docs[1].Text);
        Assert.Equal(3, reader.InvalidUtf8Sequences);

        byte[] jsonl = [.. "{\"text\": \"ok\"}\n{\"text\": \"caf"u8, 0xE9, .. "\"}\n"u8];
        string jsonlPath = _dir.File("b.jsonl");
        File.WriteAllBytes(jsonlPath, jsonl);
        string jsonPath = _dir.File("c.json");
        File.WriteAllBytes(jsonPath, [.. "[{\"story\": \"x"u8, 0xC3, .. "\"}]"u8]);
        reader = new DocumentReader([jsonlPath, jsonPath]);
        Assert.Equal(["ok", "caf\uFFFD", "x\uFFFD"], reader.Read().Select(d => d.Text));
        Assert.Equal(2, reader.InvalidUtf8Sequences);
    }

    [Fact]
    public void AutoDetection_SniffsFilesWithoutKnownExtension()
    {
        Assert.Equal(["a", "b"], ReadAll(_dir.Write("x.data", "  [{\"story\": \"a\"}, {\"story\": \"b\"}]")).Select(d => d.Text));
        Assert.Equal(["c"], ReadAll(_dir.Write("y.data", "{\"text\": \"c\"}\n")).Select(d => d.Text));
        Assert.Equal(["d", "e"], ReadAll(_dir.WriteGzip("z.gz", "d\n<|endoftext|>\ne\n")).Select(d => d.Text));
    }

    [Fact]
    public void ForcedFormat_OverridesTheExtension()
    {
        string path = _dir.Write("lines.txt", "{\"text\": \"j1\"}\n{\"text\": \"j2\"}\n");
        Assert.Equal(["j1", "j2"], ReadAll(path, new ReadOptions(Format: DocumentFormat.Jsonl)).Select(d => d.Text));
        Assert.Single(ReadAll(path));
    }

    [Fact]
    public void DirectoriesAndGlobs_ResolveInOrdinalOrder()
    {
        _dir.Write("d/b.txt", "b");
        _dir.Write("d/a.jsonl", "{\"text\": \"a\"}");
        _dir.Write("d/sub/c.json", "[{\"story\": \"c\"}]");
        _dir.Write("d/notes.md", "ignored");
        Assert.Equal(["a", "b", "c"], ReadAll(_dir.File("d")).Select(d => d.Text));

        var reader = new DocumentReader([_dir.File("d/*.txt"), _dir.File("d/**/*.json")]);
        Assert.Equal(["b", "c"], reader.Read().Select(d => d.Text));
        Assert.Equal(2, reader.Sources.Count);
        Assert.Equal("json", reader.Sources[1].Format);
    }

    [Fact]
    public void MissingInputs_AreErrors()
    {
        Assert.Contains("does not exist", Assert.Throws<LlmTrainerException>(() => new DocumentReader([_dir.File("nope.txt")])).Message);
        Assert.Contains("matches no files", Assert.Throws<LlmTrainerException>(() => new DocumentReader([_dir.File("*.json")])).Message);
        Directory.CreateDirectory(_dir.File("emptydir"));
        Assert.Contains("holds no", Assert.Throws<LlmTrainerException>(() => new DocumentReader([_dir.File("emptydir")])).Message);
    }

    [Fact]
    public void Counters_DescribeThePass()
    {
        string a = _dir.Write("a.txt", "x\n<|endoftext|>\ny");
        string b = _dir.Write("b.jsonl", "{\"text\": \"z\"}");
        var reader = new DocumentReader([a, b]);
        Assert.Equal(3, reader.Read().Count());
        Assert.Equal(3, reader.Documents);
        Assert.Equal(reader.TotalBytes, reader.BytesRead);
        Assert.Equal([2L, 1], reader.Sources.Select(s => s.Documents));
        // A second pass is independent of the first.
        Assert.Equal(3, reader.Read().Count());
    }
}
