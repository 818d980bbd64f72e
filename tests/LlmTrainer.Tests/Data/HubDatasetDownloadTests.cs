using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

/// <summary>The Parquet datasets' downloads against a loopback server that answers as the hub does: a tree listing, then the files.</summary>
public sealed class HubDatasetDownloadTests : IDisposable
{
    private static readonly DownloadOptions Fast = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 3, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, byte[]> _files = new();
    private readonly byte[] _first = Content(250_000, 1);
    private readonly byte[] _second = Content(120_000, 2);
    private readonly HubDataset _dataset = HubDataset.Parse("cosmopedia:stories")!;
    private LoopbackFileServer? _server;

    public void Dispose()
    {
        _server?.Dispose();
        _dir.Dispose();
    }

    private static byte[] Content(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private const string Resolve = "datasets/HuggingFaceTB/cosmopedia/resolve/main/data/stories/";

    /// <summary>Serves the listing (with the given SHA-256 of the second file) and both files.</summary>
    private LoopbackFileServer Serve(string? secondSha = null)
    {
        object Entry(string name, byte[] content, string? sha = null) => new
        {
            type = "file",
            path = $"data/stories/{name}",
            size = content.Length,
            lfs = new { oid = sha ?? Convert.ToHexStringLower(SHA256.HashData(content)), size = content.Length },
        };
        object[] listing =
        [
            new { type = "directory", path = "data/stories/extra" },
            Entry("train-00001-of-00002.parquet", _second, secondSha),
            Entry("train-00000-of-00002.parquet", _first),
            new { type = "file", path = "data/stories/README.md", size = 10 },
        ];
        _files["api/datasets/HuggingFaceTB/cosmopedia/tree/main/data/stories?recursive=true"] = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(listing));
        _files[Resolve + "train-00000-of-00002.parquet"] = _first;
        _files[Resolve + "train-00001-of-00002.parquet"] = _second;
        return _server = new LoopbackFileServer(_files);
    }

    private Task<IReadOnlyList<string>> Download(LoopbackFileServer server, int? maxFiles = null, RecordingProgress? progress = null) =>
        HubDatasetDownload.DownloadAsync(_dataset, _dir.File("cosmo"), maxFiles, server.BaseUrl.ToString(), progress ?? new RecordingProgress(), Fast);

    [Fact]
    public async Task Lists_the_parquet_files_downloads_them_in_order_and_verifies_their_checksums()
    {
        var server = Serve();
        var progress = new RecordingProgress();
        var paths = await Download(server, progress: progress);
        Assert.Equal([_dir.File("cosmo/train-00000-of-00002.parquet"), _dir.File("cosmo/train-00001-of-00002.parquet")], paths);
        Assert.Equal(_first, File.ReadAllBytes(paths[0]));
        Assert.Equal(_second, File.ReadAllBytes(paths[1]));
        Assert.Equal(2, progress.Infos.Count(i => i.Contains("SHA-256 verified", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetFiles(_dir.File("cosmo"), "*.part"));

        // Run again: both files are verified in place and nothing is fetched.
        int before = server.Requests.Count;
        await Download(server);
        Assert.Equal(before + 1, server.Requests.Count); // the listing only
    }

    [Fact]
    public async Task An_interrupted_transfer_resumes_and_max_files_takes_the_first_files()
    {
        var server = Serve();
        server.CutAfterBytes = 60_000;
        server.CutResponses = 2;
        var paths = await Download(server, maxFiles: 1);
        Assert.Equal(_first, File.ReadAllBytes(Assert.Single(paths)));
        Assert.Contains(server.Requests, r => r.Path.EndsWith("train-00000-of-00002.parquet", StringComparison.Ordinal) && r.RangeStart == 60_000);
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("train-00001-of-00002.parquet", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_whose_checksum_does_not_match_is_deleted_with_a_clear_error()
    {
        var server = Serve(secondSha: new string('a', 64));
        var e = await Assert.ThrowsAsync<LlmTrainerException>(() => Download(server));
        Assert.Contains("train-00001-of-00002.parquet", e.Message);
        Assert.Contains("does not match", e.Message);
        Assert.False(File.Exists(_dir.File("cosmo/train-00001-of-00002.parquet")));
        Assert.True(File.Exists(_dir.File("cosmo/train-00000-of-00002.parquet")));

        // A damaged file already there is fetched again.
        File.WriteAllBytes(_dir.File("cosmo/train-00000-of-00002.parquet"), Content(250_000, 9));
        _server!.Dispose();
        var fixedServer = Serve();
        await Download(fixedServer);
        Assert.Equal(_first, File.ReadAllBytes(_dir.File("cosmo/train-00000-of-00002.parquet")));
    }

    [Theory]
    [InlineData("cosmopedia:stories", "HuggingFaceTB/cosmopedia", "data/stories", "text")]
    [InlineData("starcoder:python", "bigcode/starcoderdata", "python", "content")]
    [InlineData("fineweb-edu-sample", "HuggingFaceFW/fineweb-edu", "sample/10BT", "text")]
    public void Names_map_to_repositories_folders_and_text_columns(string name, string repository, string folder, string field)
    {
        var d = HubDataset.Parse(name)!;
        Assert.Equal((repository, folder, field), (d.Repository, d.Folder, d.TextField));
        Assert.Null(HubDataset.Parse("tinystories"));
        foreach (string bad in new[] { "cosmopedia:nope", "starcoder:", "starcoder:../x", "wikipedia" })
            Assert.Contains("Unknown dataset", Assert.Throws<LlmTrainerException>(() => HubDataset.Parse(bad)).Message);
    }

    [Fact]
    public void A_listing_that_is_not_one_or_escapes_the_folder_is_refused()
    {
        var source = new Uri("http://example.invalid/api");
        Assert.Contains("file listing", Assert.Throws<LlmTrainerException>(() => HubDatasetDownload.ParseListing("{\"error\": 1}", source)).Message);
        Assert.Contains("valid file listing", Assert.Throws<LlmTrainerException>(() => HubDatasetDownload.ParseListing("[{", source)).Message);
        Assert.Contains("outside the dataset", Assert.Throws<LlmTrainerException>(() =>
            HubDatasetDownload.ParseListing("[{\"type\": \"file\", \"path\": \"data/../../x.parquet\", \"size\": 1}]", source)).Message);
    }
}
