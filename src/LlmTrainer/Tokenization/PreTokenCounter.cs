using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using LlmTrainer.Progress;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Counts pre-tokenisation pieces over documents on all cores: each worker fills its own table (looked up
/// by span, so a piece seen before allocates nothing), and the tables are summed at the end. Special-token
/// strings inside a document are cut out, so no merge learns them.
/// </summary>
internal static class PreTokenCounter
{
    private const long ReportEveryChars = 8 << 20;

    public static Dictionary<string, long> Count(IEnumerable<string> documents, PreTokenizer preTokenizer,
        IReadOnlyList<string> specialTokens, IProgressReporter progress)
    {
        var tables = new ConcurrentBag<Dictionary<string, long>>();
        long chars = 0, docs = 0, nextReport = ReportEveryChars;
        var reportLock = new object();
        Parallel.ForEach(documents,
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (doc, _, table) =>
            {
                CountDocument(doc, preTokenizer, specialTokens, table);
                long total = Interlocked.Add(ref chars, doc.Length);
                long done = Interlocked.Increment(ref docs);
                if (total >= Interlocked.Read(ref nextReport))
                {
                    lock (reportLock)
                    {
                        if (total >= nextReport)
                        {
                            nextReport = total + ReportEveryChars;
                            progress.Report(new ProgressUpdate("tokenizer: count", total / 1e6, null, "M chars", $"{done} documents"));
                        }
                    }
                }
                return table;
            },
            tables.Add);

        Dictionary<string, long>? result = null;
        foreach (var table in tables.OrderByDescending(t => t.Count))
        {
            if (result is null)
            {
                result = table;
                continue;
            }
            foreach (var (piece, count) in table)
                CollectionsMarshal.GetValueRefOrAddDefault(result, piece, out _) += count;
        }
        result ??= new Dictionary<string, long>(StringComparer.Ordinal);
        progress.Report(new ProgressUpdate("tokenizer: count", chars / 1e6, chars / 1e6, "M chars", $"{docs} documents, {result.Count} distinct pieces"));
        return result;
    }

    internal static void CountDocument(string doc, PreTokenizer preTokenizer, IReadOnlyList<string> specialTokens, Dictionary<string, long> table)
    {
        var lookup = table.GetAlternateLookup<ReadOnlySpan<char>>();
        var text = doc.AsSpan();
        while (text.Length > 0)
        {
            int cut = text.Length, skip = 0;
            foreach (var special in specialTokens)
            {
                int at = text[..cut].IndexOf(special, StringComparison.Ordinal);
                if (at >= 0)
                {
                    cut = at;
                    skip = special.Length;
                }
            }
            var segment = text[..cut];
            int pos = 0;
            while (pos < segment.Length)
            {
                int end = preTokenizer.Next(segment, pos);
                CollectionsMarshal.GetValueRefOrAddDefault(lookup, segment[pos..end], out _)++;
                pos = end;
            }
            text = text[(cut + skip)..];
        }
    }
}
