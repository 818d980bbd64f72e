using System.IO.Compression;
using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// Streams documents from input files in any supported format (gzip detected by its magic bytes), one file
/// after another in a fixed order. Memory stays bounded by the largest single document, whatever the input size.
/// Each call to <see cref="Read"/> is a fresh pass; the counters describe the latest pass.
/// </summary>
public sealed class DocumentReader
{
    private readonly ReadOptions _options;
    private readonly IProgressReporter _progress;
    private long _bytesRead;
    private List<SourceMeta> _sources = [];

    public DocumentReader(IEnumerable<string> inputs, ReadOptions? options = null, IProgressReporter? progress = null)
    {
        _options = options ?? ReadOptions.Default;
        _progress = progress ?? NullProgress.Instance;
        Files = InputResolver.Resolve(inputs);
        TotalBytes = Files.Sum(f => new FileInfo(f).Length);
    }

    public IReadOnlyList<string> Files { get; }

    /// <summary>Size of all input files on disk (compressed size for gzip).</summary>
    public long TotalBytes { get; }

    /// <summary>Bytes of input consumed so far in the current pass; safe to read from another thread.</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long Documents { get; private set; }

    public long SkippedRecords { get; private set; }

    /// <summary>Invalid UTF-8 sequences replaced with U+FFFD in the latest pass.</summary>
    public long InvalidUtf8Sequences { get; private set; }

    /// <summary>Per-file format and document counts of the latest complete pass.</summary>
    public IReadOnlyList<SourceMeta> Sources => _sources;

    public IEnumerable<Document> Read()
    {
        var context = new ReadContext(_options, _progress);
        var sources = new List<SourceMeta>();
        long completed = 0;
        Interlocked.Exchange(ref _bytesRead, 0);
        Documents = 0;
        SkippedRecords = 0;
        InvalidUtf8Sequences = 0;
        foreach (string path in Files)
        {
            context.File = path;
            long skippedBefore = context.SkippedRecords;
            long documents = 0;
            long length = new FileInfo(path).Length;
            long fileStart = completed;
            completed += length;
            FileStream? file = Open(path, context);
            if (file is not null)
            {
                using (file)
                {
                    if (IsParquet(path, file))
                    {
                        string textField = _options.TextField ?? DocumentFormat.Parquet.DefaultTextField();
                        using var rows = ParquetDocumentParser.Parse(file, textField, context).GetEnumerator();
                        while (Next(rows, context, out var document))
                        {
                            documents++;
                            Documents++;
                            Interlocked.Exchange(ref _bytesRead, fileStart + Math.Min(file.Position, length));
                            yield return document;
                        }
                        sources.Add(new SourceMeta(path, DocumentFormat.Parquet.Name(), documents, length));
                    }
                    else
                    {
                        if (_options.FilterField is not null)
                            throw new LlmTrainerException($"{path}: --filter-field applies to Parquet files only; filter this input before preparing it, or leave out --filter-field.");
                        bool gzip = IsGzip(file);
                        byte[]? head = ReadHead(file, gzip, context, out bool complete);
                        if (head is not null && Utf8Text.NotText(head, complete) is string notText)
                        {
                            context.Bad(null, $"not a text file: {notText} (a binary file, or text in another encoding? llmtrain reads UTF-8 text, JSON and JSON Lines, optionally gzip-compressed, and Parquet)");
                            head = null;
                        }
                        DocumentFormat? detected = head is null ? null : _options.Format != DocumentFormat.Auto ? _options.Format : DetectFormat(path, head);
                        if (detected is not DocumentFormat format)
                        {
                            SkippedRecords = context.SkippedRecords;
                            continue;
                        }
                        file.Position = 0;
                        using Stream stream = gzip ? new CheckedGzipStream(file) : file;
                        string field = _options.TextField ?? format.DefaultTextField();
                        IEnumerable<Document> documentsOfFile = format switch
                        {
                            DocumentFormat.Txt => TextDocumentParser.Parse(stream, context),
                            DocumentFormat.Json => JsonArrayParser.Parse(stream, field, context),
                            _ => JsonLinesParser.Parse(stream, field, context),
                        };
                        using var e = documentsOfFile.GetEnumerator();
                        while (Next(e, context, out var document))
                        {
                            documents++;
                            Documents++;
                            InvalidUtf8Sequences = context.InvalidUtf8Sequences;
                            Interlocked.Exchange(ref _bytesRead, fileStart + file.Position);
                            yield return document;
                        }
                        sources.Add(new SourceMeta(path, format.Name(), documents, length));
                    }
                }
            }
            if (documents == 0 && context.SkippedRecords == skippedBefore)
            {
                context.Bad(null, _options.FilterField is string filter
                    ? $"no documents where column \"{filter}\" is \"{_options.FilterValue}\" (check --filter-field and --filter-value)"
                    : "no documents found (is the file empty, or in another format? --format forces one)");
            }
            Interlocked.Exchange(ref _bytesRead, completed);
            SkippedRecords = context.SkippedRecords;
            InvalidUtf8Sequences = context.InvalidUtf8Sequences;
        }
        if (Documents == 0)
            throw new LlmTrainerException($"No documents found in the inputs ({string.Join(", ", Files)}).");
        _sources = sources;
    }

    private static FileStream? Open(string path, ReadContext context)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Bad(null, $"cannot open file ({e.Message})");
            return null;
        }
    }

    /// <summary>Advances, turning read failures (I/O errors, corrupt gzip) into a bad-input report that ends the file.</summary>
    private static bool Next(IEnumerator<Document> e, ReadContext context, out Document document)
    {
        try
        {
            if (e.MoveNext())
            {
                document = e.Current;
                return true;
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            context.Bad(null, $"cannot read file ({ex.Message}); the rest of the file is skipped");
        }
        document = default;
        return false;
    }

    /// <summary>Parquet by --format, else by its extension or its magic bytes.</summary>
    private bool IsParquet(string path, FileStream file)
    {
        if (_options.Format != DocumentFormat.Auto)
            return _options.Format == DocumentFormat.Parquet;
        if (DocumentFormats.FromFileName(path) == DocumentFormat.Parquet)
            return true;
        Span<byte> magic = stackalloc byte[4];
        int n = file.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        file.Position = 0;
        return n == 4 && ParquetDocumentParser.IsParquet(magic);
    }

    private static bool IsGzip(FileStream file)
    {
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        return n == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    }

    /// <summary>The first bytes of the (decompressed) content; null when the file cannot be read.</summary>
    private static byte[]? ReadHead(FileStream file, bool gzip, ReadContext context, out bool complete)
    {
        file.Position = 0;
        byte[] head = new byte[Utf8Text.SniffBytes];
        int n;
        complete = false;
        try
        {
            if (gzip)
            {
                using var stream = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
                n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            }
            else
            {
                n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            context.Bad(null, $"cannot read file ({e.Message})");
            return null;
        }
        complete = n < head.Length;
        return head[..n];
    }

    /// <summary>From the extension, else from the first non-blank character: '[' JSON array, '{' JSON Lines, anything else text.</summary>
    private static DocumentFormat DetectFormat(string path, byte[] head)
    {
        var byName = DocumentFormats.FromFileName(path);
        if (byName != DocumentFormat.Auto)
            return byName;
        var span = head.AsSpan();
        if (span.StartsWith("\uFEFF"u8))
            span = span[3..];
        int first = span.IndexOfAnyExcept(" \t\r\n"u8);
        return first < 0 ? DocumentFormat.Txt : span[first] switch
        {
            (byte)'[' => DocumentFormat.Json,
            (byte)'{' => DocumentFormat.Jsonl,
            _ => DocumentFormat.Txt,
        };
    }
}
