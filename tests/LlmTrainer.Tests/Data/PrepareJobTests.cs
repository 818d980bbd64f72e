using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Data;

public sealed class PrepareJobTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<string> _stories = new SyntheticStories(77).Stories(400).ToList();

    public void Dispose() => _dir.Dispose();

    private string WriteTxt(string name, IEnumerable<string> stories)
        => _dir.Write(name, string.Concat(stories.Select(s => s + "\n<|endoftext|>\n")));

    private string WriteJson(string name, IEnumerable<string> stories)
        => _dir.Write(name, JsonSerializer.Serialize(stories.Select(s => new { story = s, instruction = new { words = new[] { "a" } } })));

    private string WriteJsonl(string name, IEnumerable<string> stories, bool gzip = false)
    {
        string text = string.Join('\n', stories.Select(s => JsonSerializer.Serialize(new { text = s, id = 1 })));
        return gzip ? _dir.WriteGzip(name, text) : _dir.Write(name, text);
    }

    private PrepareSummary Prepare(string output, IReadOnlyList<string> inputs, PrepareOptions? options = null, RecordingProgress? progress = null)
    {
        var o = (options ?? new PrepareOptions(inputs, output, VocabSize: 512)) with { Inputs = inputs, OutputDirectory = output };
        return new PrepareJob(o, progress).Run();
    }

    /// <summary>Every document of a split, decoded, in order; checks that each starts with the end-of-text id.</summary>
    private static List<string> Documents(string directory, string split)
    {
        var tokenizer = Tokenizer.Load(Path.Combine(directory, "tokenizer.json"));
        if (DatasetMeta.Load(directory).Split(split).Shards.Count == 0)
            return [];
        using var ds = TokenDataset.Open(directory, split, tokenizer.Hash);
        var all = new int[ds.TokenCount];
        ds.CopyTo(0, all.AsSpan());
        Assert.Equal(tokenizer.BosId, all[0]);
        var docs = new List<string>();
        int start = 1;
        for (int i = 1; i <= all.Length; i++)
        {
            if (i == all.Length || all[i] == tokenizer.BosId)
            {
                docs.Add(tokenizer.Decode(all.AsSpan(start, i - start)));
                start = i + 1;
            }
        }
        return docs;
    }

    [Fact]
    public void Txt_TrainsATokenizer_AndWritesShardsMetaAndTokenizer()
    {
        string input = WriteTxt("stories.txt", _stories);
        var progress = new RecordingProgress();
        var summary = Prepare(_dir.File("out"), [input], new PrepareOptions([], "", VocabSize: 512, ValFraction: 0.1, ShardTokens: 20_000), progress);

        string output = _dir.File("out");
        Assert.Equal(output, summary.OutputDirectory);
        Assert.True(summary.TokenizerTrained);
        Assert.Equal(TokenDType.UInt16, summary.DType);
        Assert.Equal(400, summary.DocumentsRead);
        Assert.Equal(400, summary.Train.Documents + summary.Val.Documents);
        Assert.InRange(summary.Val.Documents, 20, 65);

        var meta = DatasetMeta.Load(output);
        var tokenizer = Tokenizer.Load(Path.Combine(output, "tokenizer.json"));
        Assert.Equal(tokenizer.Hash, meta.Tokenizer.Hash);
        Assert.Equal(tokenizer.VocabSize, meta.VocabSize);
        Assert.Equal(tokenizer.BosId, meta.Tokenizer.EndOfTextId);
        Assert.Equal("uint16", meta.TokenDtype);
        Assert.Equal(summary.Train.Tokens, meta.Train.Tokens);
        Assert.True(meta.Train.Shards.Count > 1);
        Assert.All(meta.Train.Shards.SkipLast(1), s => Assert.Equal(20_000, s.Tokens));
        Assert.Equal(Enumerable.Range(0, meta.Train.Shards.Count).Select(i => $"train_{i:D6}.bin"), meta.Train.Shards.Select(s => s.File));
        Assert.Equal("txt", Assert.Single(meta.Sources).Format);
        Assert.Equal(400, meta.Sources[0].Documents);
        Assert.StartsWith("llmtrain ", meta.CreatedBy);

        // The shards hold exactly the input documents, each once, in input order within each split (but for the one
        // train document held back in case val stayed empty, which goes in when val gets its first document).
        var train = Documents(output, "train");
        var val = Documents(output, "val");
        Assert.Equal(_stories.Where(val.Contains), val);
        Assert.Equal(_stories.Where(s => !val.Contains(s)).Order(), train.Order());
        Assert.Equal(_stories.Where(s => !val.Contains(s)).Skip(200), train.Skip(200));
        Assert.All(val, s => Assert.True(DocumentHash.SplitScore(DocumentHash.Compute(s)) < 0.1));

        Assert.Contains(progress.Updates, u => u.Task == "prepare" && u.Unit == "MB" && u.Detail!.Contains("MB/s"));
        Assert.Empty(Directory.GetDirectories(_dir.Path, ".out.tmp-*"));
    }

    [Fact]
    public void EveryFormat_GivesTheSameShards()
    {
        var first = _stories.Take(150).ToList();
        string tokenizerPath = _dir.File("tok.json");
        Tokenizer.Train(first, 400).Save(tokenizerPath);
        var inputs = new Dictionary<string, string>
        {
            ["txt"] = WriteTxt("a.txt", first),
            ["txtgz"] = _dir.WriteGzip("a.txt.gz", string.Concat(first.Select(s => s + "\n<|endoftext|>\n"))),
            ["json"] = WriteJson("a.json", first),
            ["jsonl"] = WriteJsonl("a.jsonl", first),
            ["jsonlgz"] = WriteJsonl("b.jsonl.gz", first, gzip: true),
            ["parquet"] = WriteParquet("a.parquet", first),
        };
        byte[]? reference = null;
        foreach (var (name, path) in inputs)
        {
            string output = _dir.File("out-" + name);
            var summary = Prepare(output, [path], new PrepareOptions([], "", TokenizerPath: tokenizerPath, ValFraction: 0.05));
            Assert.False(summary.TokenizerTrained);
            byte[] train = File.ReadAllBytes(Path.Combine(output, "train_000000.bin"));
            reference ??= train;
            Assert.Equal(reference, train);
            Assert.Equal(first.Where(s => DocumentHash.SplitScore(DocumentHash.Compute(s)) >= 0.05).Order(), Documents(output, "train").Order());
        }
    }

    [Fact]
    public void Output_DoesNotDependOnTheThreadCount()
    {
        string input = WriteTxt("s.txt", _stories);
        string tokenizerPath = _dir.File("tok.json");
        Tokenizer.Train(_stories.Take(100), 300).Save(tokenizerPath);
        Prepare(_dir.File("one"), [input], new PrepareOptions([], "", TokenizerPath: tokenizerPath, Threads: 1));
        Prepare(_dir.File("four"), [input], new PrepareOptions([], "", TokenizerPath: tokenizerPath, Threads: 4));
        foreach (string file in Directory.GetFiles(_dir.File("one")).Select(Path.GetFileName)!)
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir.File("one"), file!)), File.ReadAllBytes(Path.Combine(_dir.File("four"), file!)));
    }

    [Fact]
    public void Dedup_DropsDocumentsThatDifferOnlyInWhitespace()
    {
        var docs = _stories.Take(50).ToList();
        var withCopies = docs.Concat([docs[3].Replace(" ", "   "), "  " + docs[7].Replace(". ", ".\n") + "\n", docs[3]]).ToList();
        string input = WriteJsonl("d.jsonl", withCopies);
        var summary = Prepare(_dir.File("out"), [input], new PrepareOptions([], "", VocabSize: 300, Dedup: true));
        Assert.Equal(53, summary.DocumentsRead);
        Assert.Equal(3, summary.DuplicatesRemoved);
        Assert.Equal(50, summary.Train.Documents + summary.Val.Documents);
        var meta = DatasetMeta.Load(_dir.File("out"));
        Assert.Equal(new DedupMeta(true, 53, 3), meta.Dedup);

        var noDedup = Prepare(_dir.File("out2"), [input], new PrepareOptions([], "", VocabSize: 300));
        Assert.Equal(0, noDedup.DuplicatesRemoved);
        Assert.Equal(53, noDedup.Train.Documents + noDedup.Val.Documents);
    }

    [Fact]
    public void SmallInput_StillGetsOneValDocument()
    {
        var docs = _stories.Take(6).ToList();
        // With 0.5% val, none of these six would be chosen by hash alone.
        Assert.All(docs, d => Assert.True(DocumentHash.SplitScore(DocumentHash.Compute(d)) >= 0.005));
        var summary = Prepare(_dir.File("out"), [WriteTxt("s.txt", docs)]);
        Assert.Equal(1, summary.Val.Documents);
        Assert.Equal(5, summary.Train.Documents);
        // The one chosen is the document with the lowest split score.
        string lowest = docs.MinBy(d => DocumentHash.SplitScore(DocumentHash.Compute(d)))!;
        Assert.Equal([lowest], Documents(_dir.File("out"), "val"));
        Assert.Equal(docs.Where(d => d != lowest).Order(), Documents(_dir.File("out"), "train").Order());
        Assert.NotEqual(docs[0], lowest);
    }

    [Fact]
    public void ZeroValFraction_MakesNoValSplit()
    {
        var summary = Prepare(_dir.File("out"), [WriteTxt("s.txt", _stories.Take(20))], new PrepareOptions([], "", VocabSize: 300, ValFraction: 0));
        Assert.Equal(0, summary.Val.Documents);
        Assert.Empty(Directory.GetFiles(_dir.File("out"), "val_*"));
        Assert.Empty(DatasetMeta.Load(_dir.File("out")).Val.Shards);
    }

    [Fact]
    public void SingleDocument_WithAValSplit_IsAClearError()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("out"), [WriteTxt("s.txt", _stories.Take(1))]));
        Assert.Contains("only 1 distinct document", e.Message);
        Assert.False(Directory.Exists(_dir.File("out")));
    }

    [Fact]
    public void MalformedInput_FailsWithFileAndLine_AndLeavesNothingBehind()
    {
        var lines = new SyntheticStories(1).Stories(3000).Select(s => JsonSerializer.Serialize(new { text = s })).ToList();
        lines[2500] = "{\"text\": broken";
        string input = _dir.Write("bad.jsonl", string.Join('\n', lines));
        string tokenizerPath = _dir.File("tok.json");
        Tokenizer.Train(_stories.Take(50), 300).Save(tokenizerPath);
        var e = Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("out"), [input], new PrepareOptions([], "", TokenizerPath: tokenizerPath)));
        Assert.Contains($"{input}:2501", e.Message);
        Assert.False(Directory.Exists(_dir.File("out")));
        Assert.Empty(Directory.GetDirectories(_dir.Path));
    }

    [Fact]
    public void MalformedInput_WhileTrainingTheTokenizer_IsTheSameClearError()
    {
        string input = _dir.Write("bad.jsonl", "{\"text\": \"a\"}\n{\"text\" oops}\n");
        var e = Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("out"), [input], new PrepareOptions([], "", VocabSize: 300)));
        Assert.Contains($"{input}:2", e.Message);
    }

    [Fact]
    public void Cancelled_LeavesNothingBehind()
    {
        string input = WriteTxt("s.txt", _stories);
        string tokenizerPath = _dir.File("tok.json");
        Tokenizer.Train(_stories.Take(50), 300).Save(tokenizerPath);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var job = new PrepareJob(new PrepareOptions([input], _dir.File("out"), TokenizerPath: tokenizerPath));
        Assert.ThrowsAny<OperationCanceledException>(() => job.Run(cts.Token));
        Assert.False(Directory.Exists(_dir.File("out")));
        Assert.Empty(Directory.GetDirectories(_dir.Path));
    }

    [Fact]
    public void SkipBad_RecordsSkippedRecordsInMeta()
    {
        string input = _dir.Write("bad.jsonl", string.Join('\n', _stories.Take(30).Select(s => JsonSerializer.Serialize(new { text = s }))) + "\n{oops\n{\"title\": 1}\n");
        var summary = Prepare(_dir.File("out"), [input], new PrepareOptions([], "", VocabSize: 300, Read: new ReadOptions(SkipBad: true)));
        Assert.Equal(2, summary.SkippedRecords);
        Assert.Equal(2, DatasetMeta.Load(_dir.File("out")).SkippedRecords);
        Assert.Equal(30, summary.DocumentsRead);
    }

    [Fact]
    public void InvalidOptions_AreClearErrors()
    {
        string input = WriteTxt("s.txt", _stories.Take(5));
        Assert.Contains("not both", Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("o"), [input], new PrepareOptions([], "", TokenizerPath: "x", VocabSize: 5))).Message);
        Assert.Contains("--vocab-size", Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("o"), [input], new PrepareOptions([], ""))).Message);
        Assert.Contains("--val-fraction", Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("o"), [input], new PrepareOptions([], "", VocabSize: 300, ValFraction: 0.9))).Message);
        Assert.Contains("--shard-tokens", Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("o"), [input], new PrepareOptions([], "", VocabSize: 300, ShardTokens: 0))).Message);
        _dir.Write("full/x", "");
        Assert.Contains("not empty", Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("full"), [input])).Message);
    }

    [Fact]
    public void EmptyExistingOutputDirectory_IsUsed()
    {
        Directory.CreateDirectory(_dir.File("out"));
        Prepare(_dir.File("out"), [WriteTxt("s.txt", _stories.Take(30))], new PrepareOptions([], "", VocabSize: 300));
        Assert.True(DatasetMeta.Exists(_dir.File("out")));
    }

    [Fact]
    public void PreparedDirectory_InsideAnInputDirectory_IsNotReadAgain()
    {
        WriteTxt("in/s.txt", _stories.Take(30));
        Prepare(_dir.File("in/prepared"), [_dir.File("in")], new PrepareOptions([], "", VocabSize: 300));
        var again = Prepare(_dir.File("out2"), [_dir.File("in")], new PrepareOptions([], "", VocabSize: 300));
        Assert.Equal(30, again.DocumentsRead);
    }

    private string WriteParquet(string name, IEnumerable<string> stories)
    {
        string path = _dir.File(name);
        ParquetTestFile.Write(path, new Dictionary<string, string?[]> { ["text"] = stories.ToArray() }, rowsPerGroup: 37);
        return path;
    }

    [Fact]
    public void ValInput_MakesTheValSplit_EveryInputDocumentGoesToTrain_AndMetaRecordsIt()
    {
        var train = _stories.Take(120).ToList();
        var valid = _stories.Skip(120).Take(15).ToList();
        string input = WriteParquet("train.parquet", train);
        string valInput = WriteTxt("valid.txt", valid);
        string output = _dir.File("out");
        var summary = Prepare(output, [input], new PrepareOptions([], "", VocabSize: 400, ValInputs: [valInput]));
        Assert.True(summary.ValFromFiles);
        Assert.Equal(train, Documents(output, "train"));
        Assert.Equal(valid, Documents(output, "val"));
        var meta = DatasetMeta.Load(output);
        Assert.Equal(DatasetMeta.FilesSplit, meta.ValSplit);
        Assert.Equal(0, meta.ValFraction);
        var source = Assert.Single(meta.ValSources!);
        Assert.Equal(Path.GetFullPath(valInput), source.Path);
        Assert.Equal(15, source.Documents);
        Assert.Equal(Path.GetFullPath(input), Assert.Single(meta.Sources).Path);
        Assert.Contains("\"val_split\": \"files\"", File.ReadAllText(Path.Combine(output, DatasetMeta.FileName)));

        // Without it, the split is by hash, and meta.json says so.
        string hashed = _dir.File("hashed");
        Prepare(hashed, [input], new PrepareOptions([], "", VocabSize: 400, ValFraction: 0.1));
        Assert.Equal(DatasetMeta.HashSplit, DatasetMeta.Load(hashed).ValSplit);
        Assert.Null(DatasetMeta.Load(hashed).ValSources);
    }

    [Fact]
    public void ValInput_WithDedup_DropsTrainCopiesOfValDocuments_AndAFileInBothIsRefused()
    {
        var train = _stories.Take(60).ToList();
        string input = WriteTxt("train.txt", train);
        string valInput = WriteTxt("valid.txt", train.Take(5));
        string output = _dir.File("out");
        Prepare(output, [input], new PrepareOptions([], "", VocabSize: 400, Dedup: true, ValInputs: [valInput]));
        Assert.Equal(train.Skip(5), Documents(output, "train"));
        Assert.Equal(train.Take(5), Documents(output, "val"));
        var e = Assert.Throws<LlmTrainerException>(() => Prepare(_dir.File("out2"), [input], new PrepareOptions([], "", VocabSize: 400, ValInputs: [input])));
        Assert.Contains("both an --input and a --val-input", e.Message);
    }
}
