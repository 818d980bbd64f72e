using LlmTrainer.Data;
using Parquet;

namespace LlmTrainer.Tests.Data;

/// <summary>Runs alone: its memory test reads the process's live heap, which tests running beside it would grow.</summary>
[CollectionDefinition(nameof(ParquetReaderTests), DisableParallelization = true)]
public sealed class ParquetReaderCollection;

[Collection(nameof(ParquetReaderTests))]
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
        // 100 row groups of ~256 KB of text each: what is live while reading stays far below the whole file's strings.
        string block = new('x', 2000);
        var texts = Enumerable.Range(0, 100 * 128).Select(i => $"{i} {block}").ToArray();
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

    /// <summary>A file found by the property tests: a damaged list count in the footer once kept the decoder looping.</summary>
    private const string LoopingFooter =
        "UEFSMRUAFfQLFcgCLBUgFQAVBhUGHBgtU3RvcnkgOTogdGhlIGNhdCAiVG9tIiByYW4gISEhIcOp5Lit8J+YgCBmYXIuGClTdG9yeSAwOiB0aG" +
        "UgY2F0ICJUb20iIHJhbiDDqeS4rfCfmIAgZmFyLhYAKC1TdG9yeSA5OiB0aGUgY2F0ICJUb20iIHJhbiAhISEhw6nkuK3wn5iAIGZhci4YKVN0" +
        "b3J5IDA6IHRoZSBjYXQgIlRvbSIgcmFuIMOp5Lit8J+YgCBmYXIuAAAAH4sIAAAAAAACA2JiYGBQYNQEksEl+UWVCgZWCiUZqQrJiSUKSiH5uU" +
        "oKRYl5CodXPtmx9sP8GQ0KaYlFelpwxYbYFCuiqtaGqzbCqhpNuQ5cuTF25WjqdeHqTXCoR9OA8KopKV41I8mr5qR51YJEr1oS51WkiCIiWhGu" +
        "NyQmXhGuNyQqYhGuNyQuZvUQGkxI9i8RcQsAAAD//wMA/kCJkPoCAAAVABWKDBW+AiwVIBUAFQYVBhwYK1N0b3J5IDMxOiB0aGUgY2F0ICJUb2" +
        "0iIHJhbiAhw6nkuK3wn5iAIGZhci4YK1N0b3J5IDE2OiB0aGUgY2F0ICJUb20iIHJhbiAhw6nkuK3wn5iAIGZhci4WACgrU3RvcnkgMzE6IHRo" +
        "ZSBjYXQgIlRvbSIgcmFuICHDqeS4rfCfmIAgZmFyLhgrU3RvcnkgMTY6IHRoZSBjYXQgIlRvbSIgcmFuICHDqeS4rfCfmIAgZmFyLgAAAB+LCA" +
        "AAAAAAAgNiYmBgUGDUBpLBJflFlQqGZlYKJRmpCsmJJQpKIfm5SgpFiXkKiodXPtmx9sP8GQ0KaYlFejoI5eZYlaOp10Wot8CuHk2DHkKDJQ4N" +
        "aDq04DqMDLDpQFWN8K+RIUn+NTIizb9GxiT618iEZP+akuRf0uLXiMT4NSI1fo1Ijl9jkuLXmJj4BQAAAP//AwAEYUItBQMAABUAFZIGFf4BLB" +
        "UQFQAVBhUGHBguU3RvcnkgMzk6IHRoZSBjYXQgIlRvbSIgcmFuICEhISHDqeS4rfCfmIAgZmFyLhgsU3RvcnkgMzI6IHRoZSBjYXQgIlRvbSIg" +
        "cmFuICEhw6nkuK3wn5iAIGZhci4WACguU3RvcnkgMzk6IHRoZSBjYXQgIlRvbSIgcmFuICEhISHDqeS4rfCfmIAgZmFyLhgsU3RvcnkgMzI6IH" +
        "RoZSBjYXQgIlRvbSIgcmFuICEhw6nkuK3wn5iAIGZhci4AAAAfiwgAAAAAAAIDYmJgYBBg1AGSwSX5RZUKxkZWCiUZqQrJiSUKSiH5uUoKRYl5" +
        "CoqKh1c+2bH2w/wZDQppiUV6ugj1xtjVo2nQQ2gwwaEBTYcWQocpNh2oqrURqs2wmo+qHMm/5iT614JU/1oS518AAAAA//8DABQ+LduJAQAAFQ" +
        "IZLEgEcm9vdBUCABUMJQIYBHRleHQlAEwcAAAAFlAZPBkcJggcFQwZJQAGGRgEdGV4dBUEFiAWig8W3gUmCDwYLVN0b3J5IDk6IHRoZSBjYXQg" +
        "IlRvbSIgcmFuICEhISHDqeS4rfCfmIAgZmFyLhgpU3RvcnkgMDogdGhlIGNhdCAiVG9tIiByYW4gw6nkuK3wn5iAIGZhci4WACgtU3RvcnkgOT" +
        "ogdGhlIGNhdCAiVG9tIiByYW4gISEhIcOp5Lit8J+YgCBmYXIuGClTdG9yeSAwOiB0aGUgY2F0ICJUb20iIHJhbiDDqeS4rfCfmIAgZmFyLgAA" +
        "ABaKDxYgNt4FABkcJuYFHBUMGSUABhkYBHRleHQVBBYgFqAPFtQFJuYFPBgrU3RvcnkgMzE6IHRoZSBjYXQgIlRvbSIgcmFuICHDqeS4rfCfmI" +
        "AgZmFyLhgrU3RvcnkgMTY6IHRoZSBjYXQgIlRvbSIgcmFuICHDqeS4rfCfmIAgZmFyLhYAKCtTdG9yeSAzMTogdGhlIGNhdCAiVG9tIiByYW4g" +
        "IcOp5Lit8J+YgCBmYXIuGCtTdG9yeSAxNjogdGhlIGNhdCAiVG9tIiByYW4gIcOp5Lit8J+YgCBmYXIuAAAAFqAPFiA21AUAGRwmugscFQwZ//" +
        "//fxgEdGV4dBUEFhAWuAkWpAUmugs8GC5TdG9yeSAzOTogdGhlIGNhdCAiVG9tIiByYW4gISEhIcOp5Lit8J+YgCBmYXIuGCxTdG9yeSAzMjog" +
        "dGhlIGNhdCAiVG9tIiByYW4gISHDqeS4rfCfmIAgZmFyLhYAKC5TdG9yeSAzOTogdGhlIGNhdCAiVG9tIiByYW4gISEhIcOp5Lit8J+YgCBmYX" +
        "IuGCxTdG9yeSAzMjogdGhlIGNhdCAiVG9tIiByYW4gISHDqeS4rfCfmIAgZmFyLgAAABa4CRYQNqQFAChKUGFycXVldC5OZXQgdmVyc2lvbiA2" +
        "LjEuMCAoYnVpbGQgYzE3OWQ5N2JkMjU0OWI1ZjQ0YTkyNDFlNzI5Zjg2OWQ0OTQ3ZWU1OSkAHgMAAFBBUjE=";

    [Fact]
    public async Task A_footer_count_that_runs_past_the_footer_is_an_error_not_a_hang()
    {
        string path = _dir.File("looping.parquet");
        File.WriteAllBytes(path, Convert.FromBase64String(LoopingFooter));
        var read = Task.Run(() => ReadAll([path]));
        var e = await Assert.ThrowsAsync<LlmTrainerException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(path, e.Message);
        Assert.Contains("a list of", e.Message);
    }
}
