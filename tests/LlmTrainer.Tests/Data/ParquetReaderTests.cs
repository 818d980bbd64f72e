using LlmTrainer.Data;
using Parquet;

namespace LlmTrainer.Tests.Data;

public sealed class ParquetReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string[] Texts(int n) => Enumerable.Range(0, n).Select(i => $"  Document {i}: the cat \u00e9\u4e2d\ud83d\ude00 sat.\n").ToArray();

    private string WriteFile(string name, Dictionary<string, string?[]> columns, CompressionMethod compression = CompressionMethod.Snappy, int rowsPerGroup = int.MaxValue, bool withNumbers = false)
    {
        string path = _dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ParquetTestFile.Write(path, columns, compression, rowsPerGroup, withNumbers);
        return path;
    }

    private static List<Document> ReadAll(IEnumerable<string> inputs, ReadOptions? options = null, RecordingProgress? progress = null)
        => new DocumentReader(inputs, options, progress).Read().ToList();

    [Theory]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.Zstd)]
    [InlineData(CompressionMethod.Gzip)]
    [InlineData(CompressionMethod.None)]
    public void Reads_the_text_column_of_every_row_group_in_order_trimmed(CompressionMethod compression)
    {
        var texts = Texts(250);
        string path = WriteFile($"c-{compression}.parquet", new() { ["text"] = texts }, compression, rowsPerGroup: 64, withNumbers: true);
        var docs = ReadAll([path]);
        Assert.Equal(texts.Select(t => t.Trim()), docs.Select(d => d.Text));
        Assert.Equal(Enumerable.Range(1, 250).Select(i => (long)i), docs.Select(d => d.Line));
        var reader = new DocumentReader([path]);
        _ = reader.Read().Count();
        Assert.Equal("parquet", Assert.Single(reader.Sources).Format);
    }

    [Fact]
    public void Text_field_chooses_the_column_as_for_StarCoder_content()
    {
        string path = WriteFile("code.parquet", new() { ["content"] = ["def f():\n    return 1", "print(2)"], ["text"] = ["not this", "nor this"] });
        Assert.Equal(["def f():\n    return 1", "print(2)"], ReadAll([path], new ReadOptions(TextField: "content")).Select(d => d.Text));
    }

    [Fact]
    public void Filter_keeps_only_rows_whose_column_equals_the_value()
    {
        string path = WriteFile("mixed.parquet", new()
        {
            ["content"] = ["a = 1", "fn main() {}", "b = 2", "let x = 3;"],
            ["lang"] = ["python", "rust", "python", null],
        }, rowsPerGroup: 3);
        var docs = ReadAll([path], new ReadOptions(TextField: "content", FilterField: "lang", FilterValue: "python"));
        Assert.Equal(["a = 1", "b = 2"], docs.Select(d => d.Text));
        Assert.Equal([1L, 3], docs.Select(d => d.Line));
    }

    [Fact]
    public void A_filter_that_matches_nothing_names_the_column_and_value()
    {
        string path = WriteFile("none.parquet", new() { ["text"] = ["a", "b"], ["lang"] = ["en", "en"] });
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll([path], new ReadOptions(FilterField: "lang", FilterValue: "fr")));
        Assert.Contains(path, e.Message);
        Assert.Contains("\"lang\" is \"fr\"", e.Message);
    }

    [Fact]
    public void A_missing_column_is_an_error_naming_the_file_the_column_and_the_columns_there()
    {
        string path = WriteFile("a.parquet", new() { ["content"] = ["x"] });
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll([path]));
        Assert.Contains(path, e.Message);
        Assert.Contains("no column \"text\"", e.Message);
        Assert.Contains("columns: content", e.Message);
        Assert.Contains("--text-field", e.Message);
    }

    [Fact]
    public void A_non_string_column_is_an_error()
    {
        string path = WriteFile("n.parquet", new() { ["text"] = ["x", "y"] }, withNumbers: true);
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll([path], new ReadOptions(TextField: "n")));
        Assert.Contains(path, e.Message);
        Assert.Contains("column \"n\" holds Int32, not strings", e.Message);
        var f = Assert.Throws<LlmTrainerException>(() => ReadAll([path], new ReadOptions(FilterField: "n", FilterValue: "1")));
        Assert.Contains("column \"n\" holds Int32", f.Message);
    }

    [Fact]
    public void A_null_text_is_a_bad_record_that_skip_bad_skips()
    {
        string path = WriteFile("nulls.parquet", new() { ["text"] = ["a", null, "c"] });
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll([path]));
        Assert.Contains($"{path}:2", e.Message);
        var progress = new RecordingProgress();
        var reader = new DocumentReader([path], new ReadOptions(SkipBad: true), progress);
        Assert.Equal(["a", "c"], reader.Read().Select(d => d.Text));
        Assert.Equal(1, reader.SkippedRecords);
    }

    [Fact]
    public void A_corrupt_file_is_an_error_naming_it_and_skip_bad_moves_on_to_the_next_file()
    {
        byte[] valid = ParquetTestFile.Bytes(new Dictionary<string, string?[]> { ["text"] = Texts(50) });
        string cut = _dir.File("cut.parquet");
        File.WriteAllBytes(cut, valid[..(valid.Length / 2)]);
        string garbage = _dir.File("garbage.parquet");
        File.WriteAllBytes(garbage, [.. "PAR1"u8, .. Enumerable.Repeat((byte)0x41, 100), .. "PAR1"u8]);
        string good = WriteFile("z-good.parquet", new() { ["text"] = ["fine"] });
        foreach (string bad in new[] { cut, garbage })
        {
            var e = Assert.Throws<LlmTrainerException>(() => ReadAll([bad]));
            Assert.Contains(bad, e.Message);
            Assert.Contains("Parquet", e.Message);
        }
        var reader = new DocumentReader([cut, garbage, good], new ReadOptions(SkipBad: true), new RecordingProgress());
        Assert.Equal(["fine"], reader.Read().Select(d => d.Text));
        Assert.Equal(2, reader.SkippedRecords);
    }

    [Fact]
    public void Directories_and_globs_find_parquet_files_and_the_magic_bytes_identify_one_without_its_extension()
    {
        WriteFile("set/train-00000-of-00002.parquet", new() { ["text"] = ["one", "two"] });
        WriteFile("set/train-00001-of-00002.parquet", new() { ["text"] = ["three"] });
        Assert.Equal(["one", "two", "three"], ReadAll([_dir.File("set")]).Select(d => d.Text));
        Assert.Equal(["three"], ReadAll([_dir.File("set/*00001*.parquet")]).Select(d => d.Text));
        string bare = _dir.File("noext");
        File.Copy(_dir.File("set/train-00001-of-00002.parquet"), bare);
        Assert.Equal(["three"], ReadAll([bare]).Select(d => d.Text));
    }

    [Fact]
    public void Filter_field_on_a_text_file_is_refused()
    {
        string path = _dir.Write("a.jsonl", "{\"text\": \"x\"}\n");
        var e = Assert.Throws<LlmTrainerException>(() => ReadAll([path], new ReadOptions(FilterField: "lang", FilterValue: "en")));
        Assert.Contains("--filter-field applies to Parquet files only", e.Message);
    }

    [Fact]
    public void Memory_stays_bounded_by_the_row_group_not_the_file()
    {
        // 40 row groups of ~256 KB of text each: reading allocates far less than the whole file's strings at once.
        string block = new('x', 2000);
        var texts = Enumerable.Range(0, 40 * 128).Select(i => $"{i} {block}").ToArray();
        string path = WriteFile("big.parquet", new() { ["text"] = texts }, CompressionMethod.Zstd, rowsPerGroup: 128);
        long peakLive = 0;
        int n = 0;
        GC.Collect();
        long baseline = GC.GetTotalMemory(true);
        foreach (var _ in new DocumentReader([path]).Read())
        {
            if (++n % 128 == 64)
                peakLive = Math.Max(peakLive, GC.GetTotalMemory(true) - baseline);
        }
        Assert.Equal(texts.Length, n);
        long wholeFileStrings = texts.Sum(t => (long)t.Length * 2);
        Assert.True(peakLive < wholeFileStrings / 4, $"live memory {peakLive} bytes while reading {wholeFileStrings} bytes of text");
    }
}
