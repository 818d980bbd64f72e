#:package Parquet.Net@6.1.0
// Writes a Cosmopedia-shaped Parquet file (columns text and subset, row groups of 10,000 documents) from a
// TinyStories-style .txt file (documents separated by <|endoftext|> lines), for benchmarks/parquet_prepare.sh.
// Usage: dotnet run make_parquet.cs -- INPUT.txt OUTPUT.parquet [snappy|zstd|gzip]
using Parquet;
using Parquet.Schema;

var compression = args.Length > 2 ? Enum.Parse<CompressionMethod>(args[2], ignoreCase: true) : CompressionMethod.Snappy;
var text = new DataField<string>("text");
var subset = new DataField<string>("subset");
using var output = File.Create(args[1]);
var writer = await ParquetWriter.CreateAsync(new ParquetSchema(text, subset), output, new ParquetOptions { CompressionMethod = compression });
var documents = new List<string>();
var current = new System.Text.StringBuilder();
long rows = 0;
async Task Flush()
{
    if (documents.Count == 0) return;
    using var group = writer.CreateRowGroup();
    await group.WriteAsync(text, documents);
    await group.WriteAsync(subset, documents.Select((_, i) => (rows + i) % 4 == 0 ? "web_samples" : "stories").ToArray());
    rows += documents.Count;
    documents.Clear();
}
foreach (var line in File.ReadLines(args[0]))
{
    if (line.Trim() == "<|endoftext|>")
    {
        documents.Add(current.ToString());
        current.Clear();
        if (documents.Count == 10_000) await Flush();
    }
    else
    {
        current.Append(line).Append('\n');
    }
}
if (current.Length > 0) documents.Add(current.ToString());
await Flush();
await writer.DisposeAsync();
Console.WriteLine($"{args[1]}: {rows} rows, {new FileInfo(args[1]).Length / 1e6:F0} MB ({compression})");
