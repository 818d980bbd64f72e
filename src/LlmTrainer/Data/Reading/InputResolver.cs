using System.Text;
using System.Text.RegularExpressions;

namespace LlmTrainer.Data;

/// <summary>
/// Turns the paths a user gives into input files: a file as is; a directory as every .txt/.json/.jsonl file
/// (optionally .gz) and every .parquet file below it; a glob (<c>*</c>, <c>?</c>, <c>**</c> for any depth) as the files it matches.
/// Order is deterministic (ordinal by path) so the same inputs always make the same shards.
/// </summary>
public static class InputResolver
{
    private static readonly string[] Extensions = [".txt", ".json", ".jsonl", ".ndjson", ".jsonlines", ".parquet"];

    public static IReadOnlyList<string> Resolve(IEnumerable<string> inputs)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int count = 0;
        foreach (string input in inputs)
        {
            count++;
            foreach (string file in ResolveOne(input))
            {
                if (seen.Add(Path.GetFullPath(file)))
                    files.Add(file);
            }
        }
        if (count == 0)
            throw new LlmTrainerException("No input given: name at least one file, directory or glob.");
        return files;
    }

    private static IEnumerable<string> ResolveOne(string input)
    {
        if (File.Exists(input))
            return [input];
        if (Directory.Exists(input))
        {
            var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                .Where(IsTextFile)
                .Where(f => !InsidePreparedDirectory(f))
                .Order(StringComparer.Ordinal)
                .ToList();
            if (found.Count == 0)
                throw new LlmTrainerException($"Input directory '{input}' holds no .txt, .json, .jsonl (plain or .gz) or .parquet files.");
            return found;
        }
        if (input.IndexOfAny(['*', '?']) >= 0)
        {
            var matched = Glob(input);
            if (matched.Count == 0)
                throw new LlmTrainerException($"Input pattern '{input}' matches no files.");
            return matched;
        }
        throw new LlmTrainerException($"Input '{input}' does not exist (expected a file, a directory or a glob such as 'data/*.json').");
    }

    private static bool IsTextFile(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return Extensions.Contains(Path.GetExtension(name).ToLowerInvariant());
    }

    /// <summary>True for meta.json/tokenizer.json of an earlier <c>prepare</c> output lying inside an input directory.</summary>
    private static bool InsidePreparedDirectory(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        return dir is not null && File.Exists(Path.Combine(dir, DatasetMeta.FileName))
            && File.Exists(Path.Combine(dir, ShardSetWriter.ShardFileName("train", 0)));
    }

    private static List<string> Glob(string pattern)
    {
        string normalized = pattern.Replace('\\', '/');
        string[] segments = normalized.Split('/');
        int firstWild = Array.FindIndex(segments, s => s.IndexOfAny(['*', '?']) >= 0);
        string root = string.Join('/', segments[..firstWild]);
        if (root.Length == 0)
            root = normalized.StartsWith('/') ? "/" : ".";
        if (!Directory.Exists(root))
            return [];
        var regex = new Regex("^" + ToRegex(segments[firstWild..]) + "$", RegexOptions.CultureInvariant);
        bool deep = segments.Length - firstWild > 1 || segments[firstWild..].Contains("**");
        return Directory.EnumerateFiles(root, "*", deep ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => regex.IsMatch(Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static string ToRegex(string[] segments)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < segments.Length; i++)
        {
            if (segments[i] == "**")
            {
                // Any number of directories, including none.
                sb.Append(i == segments.Length - 1 ? ".*" : "(?:[^/]+/)*");
                continue;
            }
            foreach (char c in segments[i])
            {
                sb.Append(c switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(c.ToString()),
                });
            }
            if (i < segments.Length - 1)
                sb.Append('/');
        }
        return sb.ToString();
    }
}
