using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>Fetches TinyStoriesV2-GPT4 (train and valid text) from the dataset's public location.</summary>
public static class TinyStoriesDownload
{
    public const string DefaultBaseUrl = "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/";

    public static readonly IReadOnlyList<string> FileNames = ["TinyStoriesV2-GPT4-train.txt", "TinyStoriesV2-GPT4-valid.txt"];

    /// <summary>Downloads the files missing from <paramref name="directory"/>; returns the paths of all of them.</summary>
    /// <param name="baseUrl">Where the files are (a mirror, or a local test server); defaults to <see cref="DefaultBaseUrl"/>.</param>
    public static async Task<IReadOnlyList<string>> DownloadAsync(string directory, string? baseUrl = null, IProgressReporter? progress = null,
        DownloadOptions? options = null, CancellationToken cancellationToken = default)
    {
        progress ??= NullProgress.Instance;
        var root = new Uri(WithSlash(baseUrl ?? DefaultBaseUrl), UriKind.Absolute);
        Directory.CreateDirectory(directory);
        using var downloader = new FileDownloader(options);
        var paths = new List<string>();
        foreach (string name in FileNames)
        {
            string path = Path.Combine(directory, name);
            paths.Add(path);
            if (File.Exists(path))
            {
                progress.Info($"{path} is already there.");
                continue;
            }
            var url = new Uri(root, name);
            progress.Info($"Downloading {url}");
            try
            {
                long size = await downloader.DownloadAsync(url, path, progress, cancellationToken).ConfigureAwait(false);
                progress.Info($"{path}: {size / 1e6:F1} MB");
            }
            catch (FileDownloader.UnreachableException e)
            {
                throw new LlmTrainerException(
                    $"Cannot reach {url.Host} ({e.Message}). Without network access, download these files by hand on another machine: " +
                    string.Join(", ", FileNames.Select(f => new Uri(root, f).ToString())) +
                    $" and put them in {Path.GetFullPath(directory)}; then prepare them with " +
                    $"'llmtrain prepare --input {Path.Combine(directory, FileNames[0])} --out data/tinystories --vocab-size 32000'.", e);
            }
        }
        return paths;
    }

    private static string WithSlash(string url) => url.EndsWith('/') ? url : url + "/";
}
