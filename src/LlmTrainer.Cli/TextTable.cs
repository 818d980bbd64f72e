namespace LlmTrainer.Cli;

/// <summary>Plain-text tables: columns padded to their widest cell, text columns left-aligned, numbers right-aligned.</summary>
internal static class TextTable
{
    /// <param name="leftAligned">Which columns are text (left-aligned); the others are numbers.</param>
    public static void Write(TextWriter o, string[] header, IReadOnlyList<string[]> rows, ISet<int> leftAligned)
    {
        var all = rows.Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(i => all.Max(row => row[i].Length)).ToArray();
        foreach (var row in all)
            o.WriteLine(string.Join("  ", row.Select((cell, i) => leftAligned.Contains(i) ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))).TrimEnd());
    }
}
