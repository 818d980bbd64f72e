using Parquet;
using Parquet.Schema;

namespace LlmTrainer.Tests.Data;

/// <summary>Writes small Parquet files for the reader tests: string columns (nulls allowed), an int column, row groups of a chosen size.</summary>
public static class ParquetTestFile
{
    public static void Write(
        string path,
        IReadOnlyDictionary<string, string?[]> columns,
        CompressionMethod compression = CompressionMethod.Snappy,
        int rowsPerGroup = int.MaxValue,
        bool withNumbers = false)
    {
        var fields = columns.Keys.Select(k => new DataField<string>(k)).ToList();
        var numbers = new DataField<int>("n");
        var schema = new ParquetSchema(withNumbers ? [.. fields, numbers] : fields.Cast<Field>());
        int rows = columns.Values.First().Length;
        using var file = File.Create(path);
        var writer = ParquetWriter.CreateAsync(schema, file, new ParquetOptions { CompressionMethod = compression }).GetAwaiter().GetResult();
        try
        {
            for (int start = 0; start < rows; start += rowsPerGroup)
            {
                int count = Math.Min(rowsPerGroup, rows - start);
                using var group = writer.CreateRowGroup();
                foreach (var field in fields)
                    group.WriteAsync(field, columns[field.Name].AsSpan(start, count).ToArray()).GetAwaiter().GetResult();
                if (withNumbers)
                    group.WriteAsync<int>(numbers, Enumerable.Range(start, count).ToArray().AsMemory()).GetAwaiter().GetResult();
            }
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public static byte[] Bytes(IReadOnlyDictionary<string, string?[]> columns, CompressionMethod compression = CompressionMethod.Snappy, int rowsPerGroup = int.MaxValue)
    {
        string path = System.IO.Path.GetTempFileName();
        try
        {
            Write(path, columns, compression, rowsPerGroup);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
