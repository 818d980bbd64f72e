using Parquet;
using Parquet.Schema;

namespace LlmTrainer.Data;

/// <summary>
/// Parquet files (Cosmopedia, StarCoder, FineWeb-Edu): the document is a top-level string column, optionally only the
/// rows whose filter column equals a value. Read one row group at a time, so memory is bounded by the largest row
/// group, whatever the file size. Any compression Parquet.Net decodes in managed code is read (snappy, zstd, gzip,
/// brotli, lz4). A damaged file becomes a bad-input report naming it, never another exception.
/// </summary>
internal static class ParquetDocumentParser
{
    /// <summary>The four bytes that start and end every Parquet file.</summary>
    public static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>Refuses a row group whose column chunk claims more than this, before reading it: damage, or a file built for other tools.</summary>
    private const long MaxColumnChunkBytes = 4L << 30;

    public static IEnumerable<Document> Parse(Stream stream, string field, ReadContext context)
    {
        var options = context.Options;
        ParquetReader? reader = Guard(context, null, () =>
        {
            ParquetPageCheck.CheckFooter(stream);
            return ParquetReader.CreateAsync(stream, leaveStreamOpen: true).GetAwaiter().GetResult();
        });
        if (reader is null)
            yield break;
        try
        {
            // The schema and the row groups are decoded from the footer on first use: damage shows here too.
            var schema = Guard(context, null, () => (Fields: reader.Schema.Fields.ToList(), RowGroups: reader.RowGroupCount));
            if (schema.Fields is null)
                yield break;
            var text = FindStringColumn(schema.Fields, field, "text", "--text-field", context);
            var filter = options.FilterField is string filterField ? FindStringColumn(schema.Fields, filterField, "filter", "--filter-field", context) : null;
            if (text is null || (options.FilterField is not null && filter is null))
                yield break;
            long row = 0;
            for (int g = 0; g < schema.RowGroups; g++)
            {
                var (texts, filters) = ReadRowGroup(reader, stream, g, text, filter, context);
                if (texts is null)
                    yield break;
                for (int i = 0; i < texts.Length; i++)
                {
                    row++;
                    if (filters is not null && !string.Equals(filters[i], options.FilterValue, StringComparison.Ordinal))
                        continue;
                    string? value = texts[i];
                    if (value is null)
                    {
                        context.Bad(row, $"column \"{field}\" is null in this row");
                        continue;
                    }
                    if (value.Length > options.MaxDocumentBytes)
                    {
                        context.Bad(row, $"document is longer than {options.MaxDocumentBytes} bytes");
                        continue;
                    }
                    value = value.Trim();
                    if (value.Length > 0)
                        yield return new Document(value, context.File, row);
                }
            }
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>True when the file starts with the Parquet magic bytes.</summary>
    public static bool IsParquet(ReadOnlySpan<byte> head) => head.StartsWith(Magic);

    private static DataField? FindStringColumn(List<Field> fields, string name, string role, string option, ReadContext context)
    {
        var found = fields.FirstOrDefault(f => f.Name == name);
        if (found is null)
        {
            string columns = string.Join(", ", fields.Select(f => f.Name).Take(20));
            context.Bad(null, $"no column \"{name}\" (columns: {columns}); choose the {role} column with {option}");
            return null;
        }
        if (found is not DataField data || data.IsArray || (data.ClrType != typeof(string) && data.ClrType != typeof(ReadOnlyMemory<char>)))
        {
            string type = found is DataField d ? (d.IsArray ? $"a list of {d.ClrType.Name}" : d.ClrType.Name) : found.SchemaType.ToString().ToLowerInvariant();
            context.Bad(null, $"column \"{name}\" holds {type}, not strings; choose a string column with {option}");
            return null;
        }
        return data;
    }

    /// <summary>The text (and filter) values of one row group; nulls when the file turns out to be damaged.</summary>
    private static (string?[]? Texts, string?[]? Filters) ReadRowGroup(ParquetReader reader, Stream stream, int index, DataField text, DataField? filter, ReadContext context)
    {
        long fileBytes = stream.Length;
        var result = Guard(context, index, () =>
        {
            using var group = reader.OpenRowGroupReader(index);
            long rows = group.RowCount;
            foreach (var field in filter is null ? [text] : new[] { text, filter })
            {
                var chunk = group.GetMetadata(field)?.MetaData;
                if (chunk is null)
                    throw new InvalidDataException($"row group {index} has no column chunk for \"{field.Name}\"");
                // Sizes come from the file: check them against it before anything is allocated by them.
                if (chunk.TotalCompressedSize < 0 || chunk.TotalCompressedSize > fileBytes || chunk.TotalUncompressedSize < 0 || chunk.TotalUncompressedSize > MaxColumnChunkBytes)
                    throw new InvalidDataException($"row group {index}: column \"{field.Name}\" claims {chunk.TotalCompressedSize} bytes ({chunk.TotalUncompressedSize} uncompressed) in a {fileBytes}-byte file");
                if (chunk.NumValues != rows)
                    throw new InvalidDataException($"row group {index}: column \"{field.Name}\" has {chunk.NumValues} values for {rows} rows");
                if (rows < 0 || rows > int.MaxValue || rows > fileBytes * 8 + 64)
                    throw new InvalidDataException($"row group {index} claims {rows} rows in a {fileBytes}-byte file");
                long start = chunk.DictionaryPageOffset is long dictionary && dictionary > 0 ? Math.Min(dictionary, chunk.DataPageOffset) : chunk.DataPageOffset;
                ParquetPageCheck.Check(stream, start, chunk.TotalCompressedSize, chunk.TotalUncompressedSize, rows);
            }
            var texts = new string?[rows];
            group.ReadAsync(text, texts.AsMemory()).AsTask().GetAwaiter().GetResult();
            string?[]? filters = null;
            if (filter is not null)
            {
                filters = new string?[rows];
                group.ReadAsync(filter, filters.AsMemory()).AsTask().GetAwaiter().GetResult();
            }
            return (texts, filters);
        });
        return result == default ? (null, null) : result;
    }

    /// <summary>Runs a read of the library, turning every failure of it into a report that ends the file.</summary>
    private static T? Guard<T>(ReadContext context, int? rowGroup, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not LlmTrainerException and not OperationCanceledException and not OutOfMemoryException)
        {
            string where = rowGroup is int g ? $" in row group {g}" : "";
            context.Bad(null, $"not a readable Parquet file{where} ({e.Message.Split('\n')[0].Trim()}); the rest of the file is skipped");
            return default;
        }
    }
}
