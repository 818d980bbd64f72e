using System.Security.Cryptography;
using System.Text.Json;
using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// Downloads a <see cref="HubDataset"/>'s Parquet files: lists them with the hub's tree API (path, size and the
/// SHA-256 of each file), downloads the missing ones with resume (<see cref="FileDownloader"/>), and checks every
/// file, new or already there, against its listed size and SHA-256. A file that does not match is deleted so that
/// the next run fetches it again.
/// </summary>
public static class HubDatasetDownload
{
    public const string DefaultEndpoint = "https://huggingface.co/";

    /// <summary>One file of the listing.</summary>
    public sealed record HubFile(string Path, long Size, string? Sha256);

    /// <param name="maxFiles">Only the first this many files (in path order); null for all.</param>
    /// <param name="endpoint">The hub (a mirror, or a local test server); defaults to <see cref="DefaultEndpoint"/>.</param>
    /// <returns>The local paths of the files, in path order.</returns>
    public static async Task<IReadOnlyList<string>> DownloadAsync(HubDataset dataset, string directory, int? maxFiles = null, string? endpoint = null,
        IProgressReporter? progress = null, DownloadOptions? options = null, CancellationToken cancellationToken = default)
    {
        progress ??= NullProgress.Instance;
        if (maxFiles is < 1)
            throw new LlmTrainerException($"--max-files {maxFiles} must be at least 1.");
        var root = new Uri(endpoint is null ? DefaultEndpoint : endpoint.EndsWith('/') ? endpoint : endpoint + "/", UriKind.Absolute);
        options ??= DownloadOptions.Default with { BearerToken = Environment.GetEnvironmentVariable("HF_TOKEN") };
        using var downloader = new FileDownloader(options);
        var listingUrl = new Uri(root, $"api/datasets/{dataset.Repository}/tree/main/{dataset.Folder}?recursive=true");
        string listing;
        try
        {
            listing = await downloader.GetTextAsync(listingUrl, cancellationToken).ConfigureAwait(false);
        }
        catch (FileDownloader.UnreachableException e)
        {
            throw new LlmTrainerException(
                $"Cannot reach {listingUrl.Host} ({e.Message}). Without network access, download the .parquet files of " +
                $"{new Uri(root, $"datasets/{dataset.Repository}/tree/main/{dataset.Folder}")} by hand into {Path.GetFullPath(directory)}.", e);
        }
        var files = ParseListing(listing, listingUrl);
        if (files.Count == 0)
            throw new LlmTrainerException($"{listingUrl} lists no .parquet files for {dataset.Name}.");
        if (maxFiles is int n)
            files = files.Take(n).ToList();
        progress.Info($"{dataset.Name}: {files.Count} Parquet file(s), {files.Sum(f => f.Size) / 1e9:F2} GB");
        Directory.CreateDirectory(directory);
        var paths = new List<string>();
        foreach (var file in files)
        {
            string relative = file.Path.StartsWith(dataset.Folder + "/", StringComparison.Ordinal) ? file.Path[(dataset.Folder.Length + 1)..] : Path.GetFileName(file.Path);
            string path = Path.Combine(directory, relative);
            if (Path.GetDirectoryName(path) is { } parent)
                Directory.CreateDirectory(parent);
            paths.Add(path);
            if (File.Exists(path) && Verify(path, file) is null)
            {
                progress.Info($"{path} is already there (checksum verified).");
                continue;
            }
            var url = new Uri(root, $"datasets/{dataset.Repository}/resolve/main/{file.Path}");
            progress.Info($"Downloading {url}");
            try
            {
                await downloader.DownloadAsync(url, path, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (FileDownloader.UnreachableException e)
            {
                throw new LlmTrainerException($"Cannot reach {url.Host} ({e.Message}); run the command again to resume.", e);
            }
            if (Verify(path, file) is string problem)
            {
                File.Delete(path);
                throw new LlmTrainerException($"{path}: {problem}; the file was deleted, run the command again to download it afresh.");
            }
            progress.Info($"{path}: {file.Size / 1e6:F1} MB, SHA-256 verified");
        }
        return paths;
    }

    /// <summary>The .parquet files of a tree listing (a JSON array of {type, path, size, lfs: {oid, size}}), in path order.</summary>
    public static List<HubFile> ParseListing(string json, Uri source)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new LlmTrainerException($"{source} did not answer with a file listing (a JSON array); is --base-url a Hugging Face hub?");
            var files = new List<HubFile>();
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.String)
                    continue;
                string path = p.GetString()!;
                if ((entry.TryGetProperty("type", out var t) && t.GetString() != "file") || !path.EndsWith(".parquet", StringComparison.Ordinal))
                    continue;
                if (path.Split('/').Any(s => s is "" or "." or ".."))
                    throw new LlmTrainerException($"{source} lists a file outside the dataset: '{path}'.");
                JsonElement lfs = entry.TryGetProperty("lfs", out var l) && l.ValueKind == JsonValueKind.Object ? l : default;
                long size = lfs.ValueKind == JsonValueKind.Object && lfs.TryGetProperty("size", out var ls) ? ls.GetInt64()
                    : entry.TryGetProperty("size", out var s) ? s.GetInt64() : -1;
                string? sha = lfs.ValueKind == JsonValueKind.Object && lfs.TryGetProperty("oid", out var oid) ? oid.GetString() : null;
                if (sha is not null && (sha.Length != 64 || !sha.All(char.IsAsciiHexDigit)))
                    throw new LlmTrainerException($"{source}: '{path}' has an invalid SHA-256 '{sha}'.");
                files.Add(new HubFile(path, size, sha?.ToLowerInvariant()));
            }
            return files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new LlmTrainerException($"{source} did not answer with a valid file listing ({e.Message}).", e);
        }
    }

    /// <summary>Null when the file has the listed size and SHA-256, else what is wrong.</summary>
    private static string? Verify(string path, HubFile file)
    {
        long size = new FileInfo(path).Length;
        if (file.Size >= 0 && size != file.Size)
            return $"{size} bytes, but the listing says {file.Size}";
        if (file.Sha256 is null)
            return null;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        return actual == file.Sha256 ? null : $"SHA-256 {actual[..16]}… does not match the listed {file.Sha256[..16]}…";
    }
}
