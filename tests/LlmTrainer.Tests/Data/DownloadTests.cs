using System.Net;
using System.Net.Sockets;
using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class DownloadTests : IDisposable
{
    private static readonly DownloadOptions Fast = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 3, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly byte[] _train = Content(300_000, 1);
    private readonly byte[] _valid = Content(50_000, 2);
    private readonly LoopbackFileServer _server;

    public DownloadTests()
    {
        _server = new LoopbackFileServer(new Dictionary<string, byte[]>
        {
            [TinyStoriesDownload.FileNames[0]] = _train,
            [TinyStoriesDownload.FileNames[1]] = _valid,
        });
    }

    public void Dispose()
    {
        _server.Dispose();
        _dir.Dispose();
    }

    private static byte[] Content(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private Task<IReadOnlyList<string>> Download(RecordingProgress? progress = null)
        => TinyStoriesDownload.DownloadAsync(_dir.File("ts"), _server.BaseUrl.ToString(), progress, Fast);

    [Fact]
    public async Task DownloadsBothFiles_WithProgress()
    {
        var progress = new RecordingProgress();
        var paths = await Download(progress);
        Assert.Equal(_train, File.ReadAllBytes(paths[0]));
        Assert.Equal(_valid, File.ReadAllBytes(paths[1]));
        Assert.EndsWith("TinyStoriesV2-GPT4-train.txt", paths[0]);
        Assert.Empty(Directory.GetFiles(_dir.File("ts"), "*.part"));
        Assert.Contains(progress.Updates, u => u.Task.StartsWith("download ", StringComparison.Ordinal) && u.Total is > 0.29 and < 0.31);
    }

    [Fact]
    public async Task ConnectionDroppedMidBody_IsResumedWithARangeRequest()
    {
        _server.CutResponses = 1;
        _server.CutAfterBytes = 120_000;
        var progress = new RecordingProgress();
        var paths = await Download(progress);
        Assert.Equal(_train, File.ReadAllBytes(paths[0]));
        var requests = _server.Requests.Where(r => r.Path.EndsWith("train.txt", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, requests.Count);
        Assert.Null(requests[0].RangeStart);
        Assert.Equal(120_000, requests[1].RangeStart);
        Assert.Contains(progress.Warnings, w => w.Contains("resuming"));
    }

    [Fact]
    public async Task PartialFileFromAnEarlierRun_IsResumed()
    {
        Directory.CreateDirectory(_dir.File("ts"));
        File.WriteAllBytes(_dir.File("ts/TinyStoriesV2-GPT4-train.txt.part"), _train[..77_777]);
        var paths = await Download();
        Assert.Equal(_train, File.ReadAllBytes(paths[0]));
        Assert.Equal(77_777, _server.Requests.First(r => r.Path.EndsWith("train.txt", StringComparison.Ordinal)).RangeStart);
    }

    [Fact]
    public async Task ServerIgnoringRange_RestartsFromScratch()
    {
        Directory.CreateDirectory(_dir.File("ts"));
        File.WriteAllBytes(_dir.File("ts/TinyStoriesV2-GPT4-train.txt.part"), new byte[1000]);
        _server.IgnoreRange = true;
        var paths = await Download();
        Assert.Equal(_train, File.ReadAllBytes(paths[0]));
    }

    [Fact]
    public async Task TransferThatKeepsFailing_KeepsThePartFile_AndSaysHowToResume()
    {
        _server.CutResponses = int.MaxValue;
        _server.CutAfterBytes = 10_000;
        var e = await Assert.ThrowsAsync<LlmTrainerException>(() => Download());
        Assert.Contains("after 3 attempts", e.Message);
        Assert.Contains("run the command again to resume", e.Message);
        Assert.Equal(30_000, new FileInfo(_dir.File("ts/TinyStoriesV2-GPT4-train.txt.part")).Length);
        Assert.False(File.Exists(_dir.File("ts/TinyStoriesV2-GPT4-train.txt")));

        // A later run picks up from there.
        _server.CutResponses = 0;
        var paths = await Download();
        Assert.Equal(_train, File.ReadAllBytes(paths[0]));
    }

    [Fact]
    public async Task FilesAlreadyThere_AreNotFetchedAgain()
    {
        Directory.CreateDirectory(_dir.File("ts"));
        File.WriteAllText(_dir.File("ts/TinyStoriesV2-GPT4-train.txt"), "mine");
        File.WriteAllText(_dir.File("ts/TinyStoriesV2-GPT4-valid.txt"), "mine too");
        await Download();
        Assert.Empty(_server.Requests);
        Assert.Equal("mine", File.ReadAllText(_dir.File("ts/TinyStoriesV2-GPT4-train.txt")));
    }

    [Fact]
    public async Task MissingFileOnTheServer_IsAClearError()
    {
        var e = await Assert.ThrowsAsync<LlmTrainerException>(
            () => TinyStoriesDownload.DownloadAsync(_dir.File("ts"), _server.BaseUrl + "nowhere/", null, Fast));
        Assert.Contains("HTTP 404", e.Message);
    }

    [Fact]
    public async Task UnreachableServer_FailsAtOnce_SayingWhereToGetTheFilesByHand()
    {
        // A port nobody listens on: the connection is refused, as when offline.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var e = await Assert.ThrowsAsync<LlmTrainerException>(
            () => TinyStoriesDownload.DownloadAsync(_dir.File("ts"), $"http://127.0.0.1:{port}/x/", null, Fast));
        Assert.Contains("Cannot reach 127.0.0.1", e.Message);
        Assert.Contains("download these files by hand", e.Message);
        Assert.Contains($"http://127.0.0.1:{port}/x/TinyStoriesV2-GPT4-train.txt", e.Message);
        Assert.Contains($"http://127.0.0.1:{port}/x/TinyStoriesV2-GPT4-valid.txt", e.Message);
        Assert.Contains(Path.GetFullPath(_dir.File("ts")), e.Message);
    }
}
