using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Data;

/// <summary>
/// Turns text into a prepared directory (<c>train_*.bin</c>, <c>val_*.bin</c>, <c>meta.json</c>, and the tokenizer in its own format:
/// <c>tokenizer.json</c>, <c>tokenizer.model</c> or <c>tokenizer.bin</c>).
/// A bounded pipeline keeps memory flat whatever the input size: one thread reads documents in batches, every core
/// encodes batches, and the calling thread writes them in input order (so the output does not depend on the thread
/// count), de-duplicating and assigning each document to train or val by its hash, or, with val inputs, reading the
/// val files first into val and every other document into train. Each document is written as the
/// end-of-text id followed by its tokens. Everything goes to a temporary directory that is renamed into place at
/// the end, so a failed or cancelled run leaves nothing half-written. Each document starts with the tokenizer's
/// document-start token (<see cref="Tokenizer.BosId"/>).
/// </summary>
public sealed class PrepareJob
{
    private const int BatchDocuments = 512;
    private const int BatchChars = 1 << 20;
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMilliseconds(500);

    private readonly PrepareOptions _options;
    private readonly IProgressReporter _progress;

    public PrepareJob(PrepareOptions options, IProgressReporter? progress = null)
    {
        _options = options;
        _progress = progress ?? NullProgress.Instance;
    }

    public PrepareSummary Run(CancellationToken cancellationToken = default)
    {
        var o = _options;
        Validate(o);
        var clock = Stopwatch.StartNew();
        var readOptions = o.Read ?? ReadOptions.Default;
        var reader = new DocumentReader(o.Inputs, readOptions, _progress);
        // The val files are often of another format (TinyStories' valid .txt beside Parquet train files): a Parquet
        // row filter applies to them only when they are Parquet too.
        var valReader = o.ValInputs is { } valInputs ? new DocumentReader(valInputs, ValReadOptions(valInputs, readOptions), _progress) : null;
        if (valReader?.Files.Select(Path.GetFullPath).Intersect(reader.Files.Select(Path.GetFullPath)).FirstOrDefault() is string both)
            throw new LlmTrainerException($"'{both}' is both an --input and a --val-input file; a document belongs to one split.");
        string output = Path.GetFullPath(o.OutputDirectory);
        CheckOutput(output);

        string parent = Path.GetDirectoryName(output) ?? ".";
        string temp = Path.Combine(parent, $".{Path.GetFileName(output)}.tmp-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        try
        {
            Directory.CreateDirectory(parent);
            Directory.CreateDirectory(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LlmTrainerException($"Cannot create the output directory next to '{output}' ({e.Message}); choose a writable --out.", e);
        }
        try
        {
            Tokenizer tokenizer;
            bool trained = o.TokenizerPath is null;
            if (o.TokenizerPath is string path)
            {
                tokenizer = Tokenizer.Load(path);
                _progress.Info($"Loaded tokenizer {path} (vocabulary {tokenizer.VocabSize}).");
            }
            else
            {
                _progress.Info($"Training a tokenizer with a vocabulary of {o.VocabSize} on {reader.Files.Count} file(s)…");
                // A quiet reader: bad records are reported once, by the encoding pass.
                var firstPass = new DocumentReader(reader.Files, readOptions);
                try
                {
                    tokenizer = Tokenizer.Train(firstPass.Read().Select(d => d.Text), o.VocabSize!.Value, null, _progress);
                }
                catch (AggregateException e) when (e.Flatten().InnerExceptions.OfType<LlmTrainerException>().FirstOrDefault() is { } inputError)
                {
                    // Training reads on several threads; a bad input record is the user's error, not an internal one.
                    ExceptionDispatchInfo.Throw(inputError);
                    throw;
                }
                cancellationToken.ThrowIfCancellationRequested();
            }

            string tokenizerFile = tokenizer.FileName;
            tokenizer.Save(Path.Combine(temp, tokenizerFile));
            var encodeClock = Stopwatch.StartNew();
            var result = Encode(reader, valReader, tokenizer, temp, encodeClock, cancellationToken);
            encodeClock.Stop();

            var dtype = TokenDTypes.ForVocabulary(tokenizer.VocabSize);
            var meta = new DatasetMeta(
                DatasetMeta.CurrentFormatVersion,
                DatasetMeta.CreatedByThisVersion,
                new TokenizerMeta(tokenizerFile, tokenizer.Hash, tokenizer.BosId, trained ? "trained" : Path.GetFullPath(o.TokenizerPath!), tokenizer.Kind),
                tokenizer.VocabSize,
                dtype.Name(),
                result.Train,
                result.Val,
                reader.Sources.Select(s => s with { Path = Path.GetFullPath(s.Path) }).ToArray(),
                new DedupMeta(o.Dedup, result.DocumentsRead, result.Duplicates),
                reader.SkippedRecords + (valReader?.SkippedRecords ?? 0),
                valReader is null ? o.ValFraction : 0,
                o.ShardTokens,
                valReader is null ? DatasetMeta.HashSplit : DatasetMeta.FilesSplit,
                valReader?.Sources.Select(s => s with { Path = Path.GetFullPath(s.Path) }).ToArray());
            meta.Save(temp);
            if (Directory.Exists(output))
                Directory.Delete(output);
            Directory.Move(temp, output);

            var summary = new PrepareSummary(
                output, Path.Combine(output, tokenizerFile), tokenizer.Hash, trained, tokenizer.VocabSize, dtype,
                reader.TotalBytes + (valReader?.TotalBytes ?? 0), result.DocumentsRead, result.Duplicates,
                reader.SkippedRecords + (valReader?.SkippedRecords ?? 0), reader.InvalidUtf8Sequences + (valReader?.InvalidUtf8Sequences ?? 0),
                new SplitSummary(result.Train.Documents, result.Train.Tokens, result.Train.Shards.Count),
                new SplitSummary(result.Val.Documents, result.Val.Tokens, result.Val.Shards.Count),
                clock.Elapsed,
                encodeClock.Elapsed,
                valReader is not null);
            return summary;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new LlmTrainerException($"Writing '{output}' failed ({e.Message}); nothing was kept. Check the free space and permissions of --out.", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static ReadOptions ValReadOptions(IReadOnlyList<string> valInputs, ReadOptions options) =>
        options.FilterField is not null && InputResolver.Resolve(valInputs).All(f => DocumentFormats.FromFileName(f) != DocumentFormat.Parquet)
            ? options with { FilterField = null, FilterValue = null }
            : options;

    private static void Validate(PrepareOptions o)
    {
        if (o.TokenizerPath is not null && o.VocabSize is not null)
            throw new LlmTrainerException("Give either --tokenizer FILE (use an existing tokenizer) or --vocab-size N (train one on the input), not both.");
        if (o.TokenizerPath is null && o.VocabSize is null)
            throw new LlmTrainerException("No tokenizer: give --tokenizer FILE to use an existing one, or --vocab-size N (e.g. 4096) to train one on the input.");
        if (!(o.ValFraction >= 0 && o.ValFraction <= 0.5))
            throw new LlmTrainerException($"--val-fraction {o.ValFraction} is out of range: use a value from 0 (no val split) to 0.5; the default is {PrepareOptions.DefaultValFraction}.");
        if (o.ShardTokens < 1 || o.ShardTokens > int.MaxValue)
            throw new LlmTrainerException($"--shard-tokens {o.ShardTokens} is out of range: use 1 to {int.MaxValue} (default {PrepareOptions.DefaultShardTokens}).");
        if (o.Threads < 0)
            throw new LlmTrainerException($"Threads {o.Threads} must be 0 (every core) or more.");
    }

    private static void CheckOutput(string output)
    {
        if (File.Exists(output))
            throw new LlmTrainerException($"--out '{output}' is a file; give a directory that does not exist yet.");
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new LlmTrainerException($"--out '{output}' already exists and is not empty; choose another directory or remove it first.");
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <param name="Val">True for a batch of --val-input documents.</param>
    private sealed record WorkItem(List<Document>? Documents, bool Val, TaskCompletionSource<EncodedBatch> Result);

    /// <summary>Per document: its hash and where its tokens (end-of-text id first) end in <see cref="Tokens"/>.</summary>
    private sealed record EncodedBatch(ulong[] Hashes, int[] Ends, List<int> Tokens, bool Val);

    private sealed record EncodeResult(SplitMeta Train, SplitMeta Val, long DocumentsRead, long Duplicates);

    private EncodeResult Encode(DocumentReader reader, DocumentReader? valReader, Tokenizer tokenizer, string directory, Stopwatch clock, CancellationToken cancellationToken)
    {
        var o = _options;
        int workers = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var work = new BlockingCollection<WorkItem>(workers * 2);
        // Bounds the batches read but not yet written: the pipeline's whole memory.
        using var ordered = new BlockingCollection<WorkItem>(workers * 4);
        int eot = tokenizer.BosId;

        var readerTask = Task.Factory.StartNew(() => ReadBatches(valReader, reader, work, ordered, cts.Token), TaskCreationOptions.LongRunning);
        var encoders = Enumerable.Range(0, workers)
            .Select(_ => Task.Factory.StartNew(() => EncodeBatches(work, tokenizer, eot, cts.Token), TaskCreationOptions.LongRunning))
            .ToArray();

        var dtype = TokenDTypes.ForVocabulary(tokenizer.VocabSize);
        using var train = new ShardSetWriter(directory, "train", dtype, o.ShardTokens);
        using var val = new ShardSetWriter(directory, "val", dtype, o.ShardTokens);
        // Val files are read first: with --dedup, train then loses any copy of a val document.
        var seen = o.Dedup ? new HashSet<ulong>() : null;
        double valFraction = valReader is null ? o.ValFraction : 0;
        long read = 0, duplicates = 0, trainDocs = 0, valDocs = 0;
        // Until val has a document, the train document with the lowest split score is held back, so that
        // val can take it at the end: a non-zero val fraction always yields at least one val document.
        int[]? held = null;
        double heldScore = double.MaxValue;
        var lastReport = TimeSpan.Zero;
        try
        {
            foreach (var item in ordered.GetConsumingEnumerable(cts.Token))
            {
                var batch = item.Result.Task.GetAwaiter().GetResult();
                var tokens = CollectionsMarshal.AsSpan(batch.Tokens);
                int start = 0;
                for (int i = 0; i < batch.Hashes.Length; i++)
                {
                    var document = tokens[start..batch.Ends[i]];
                    start = batch.Ends[i];
                    read++;
                    ulong hash = batch.Hashes[i];
                    if (seen is not null && !seen.Add(hash))
                    {
                        duplicates++;
                        continue;
                    }
                    double score = DocumentHash.SplitScore(hash);
                    if (batch.Val || score < valFraction)
                    {
                        val.Append(document);
                        valDocs++;
                        if (held is not null)
                        {
                            train.Append(held);
                            trainDocs++;
                            held = null;
                        }
                    }
                    else if (valFraction > 0 && valDocs == 0 && score < heldScore)
                    {
                        if (held is not null)
                        {
                            train.Append(held);
                            trainDocs++;
                        }
                        held = document.ToArray();
                        heldScore = score;
                    }
                    else
                    {
                        train.Append(document);
                        trainDocs++;
                    }
                }
                if (clock.Elapsed - lastReport >= ReportEvery)
                {
                    lastReport = clock.Elapsed;
                    ReportProgress(reader, valReader, read, train.TokenCount + val.TokenCount, clock.Elapsed, final: false);
                }
            }
            // A cancelled reader stops early and quietly: never mistake that for the end of the input.
            cts.Token.ThrowIfCancellationRequested();
            if (held is not null)
            {
                (valDocs == 0 ? val : train).Append(held);
                if (valDocs == 0)
                    valDocs++;
                else
                    trainDocs++;
            }
            ReportProgress(reader, valReader, read, train.TokenCount + val.TokenCount, clock.Elapsed, final: true);
        }
        catch
        {
            cts.Cancel();
            throw;
        }
        finally
        {
            // Whatever happened, no thread of the pipeline outlives the job.
            cts.Cancel();
            try
            {
                Task.WaitAll([readerTask, .. encoders]);
            }
            catch (AggregateException)
            {
                // Their failures reached the writer through the batches; cancellations are expected here.
            }
        }
        if (trainDocs == 0)
            throw new LlmTrainerException(
                $"The input has only {read - duplicates} distinct document(s), all of them in the val split; a train split needs more documents (or --val-fraction 0).");
        var trainShards = train.Complete();
        var valShards = val.Complete();
        return new EncodeResult(
            new SplitMeta(trainDocs, train.TokenCount, trainShards),
            new SplitMeta(valDocs, val.TokenCount, valShards),
            read, duplicates);
    }

    private static void ReadBatches(DocumentReader? valReader, DocumentReader reader, BlockingCollection<WorkItem> work, BlockingCollection<WorkItem> ordered, CancellationToken token)
    {
        try
        {
            foreach (var (source, isVal) in valReader is null ? [(reader, false)] : new[] { (valReader, true), (reader, false) })
            {
                var batch = new List<Document>(BatchDocuments);
                long chars = 0;
                foreach (var document in source.Read())
                {
                    batch.Add(document);
                    chars += document.Text.Length;
                    if (batch.Count >= BatchDocuments || chars >= BatchChars)
                    {
                        Submit(batch, isVal, work, ordered, token);
                        batch = new List<Document>(BatchDocuments);
                        chars = 0;
                    }
                }
                if (batch.Count > 0)
                    Submit(batch, isVal, work, ordered, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Delivered in order: the writer finishes the batches before it, then fails with this.
            var failed = new TaskCompletionSource<EncodedBatch>();
            failed.SetException(e);
            try
            {
                ordered.Add(new WorkItem(null, false, failed), token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        finally
        {
            work.CompleteAdding();
            ordered.CompleteAdding();
        }
    }

    private static void Submit(List<Document> batch, bool isVal, BlockingCollection<WorkItem> work, BlockingCollection<WorkItem> ordered, CancellationToken token)
    {
        var item = new WorkItem(batch, isVal, new TaskCompletionSource<EncodedBatch>(TaskCreationOptions.RunContinuationsAsynchronously));
        ordered.Add(item, token);
        work.Add(item, token);
    }

    private static void EncodeBatches(BlockingCollection<WorkItem> work, Tokenizer tokenizer, int eot, CancellationToken token)
    {
        try
        {
            foreach (var item in work.GetConsumingEnumerable(token))
            {
                try
                {
                    var documents = item.Documents!;
                    var hashes = new ulong[documents.Count];
                    var ends = new int[documents.Count];
                    var tokens = new List<int>(documents.Sum(d => d.Text.Length) / 3 + documents.Count);
                    for (int i = 0; i < documents.Count; i++)
                    {
                        hashes[i] = DocumentHash.Compute(documents[i].Text);
                        tokens.Add(eot);
                        tokenizer.Encode(documents[i].Text.AsSpan(), tokens);
                        ends[i] = tokens.Count;
                    }
                    item.Result.SetResult(new EncodedBatch(hashes, ends, tokens, item.Val));
                }
                catch (Exception e)
                {
                    item.Result.SetException(e);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private void ReportProgress(DocumentReader reader, DocumentReader? valReader, long documents, long tokens, TimeSpan elapsed, bool final)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        long totalBytes = reader.TotalBytes + (valReader?.TotalBytes ?? 0);
        double mb = (final ? totalBytes : reader.BytesRead + (valReader?.BytesRead ?? 0)) / 1e6;
        double total = totalBytes / 1e6;
        double rate = mb / seconds;
        string eta = final || rate <= 0 ? "done" : $"ETA {TimeSpan.FromSeconds(Math.Round((total - mb) / rate)):g}";
        _progress.Report(new ProgressUpdate("prepare", mb, total, "MB",
            $"{rate:F1} MB/s, {documents / seconds:F0} docs/s, {tokens / 1e6:F1}M tokens, {eta}"));
    }
}
