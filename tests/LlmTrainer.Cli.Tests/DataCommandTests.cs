using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

public sealed class DataCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmtrain-datacli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Synth_WritesTinyStoriesText_DeterminedByTheSeed()
    {
        string a = Path.Combine(_dir, "sub", "a.txt");
        var (exit, stdout, _) = Run("data", "synth", "--out", a, "--stories", "200", "--seed", "4");
        Assert.Equal(0, exit);
        Assert.Contains("200 stories", stdout);
        var docs = new DocumentReader([a]).Read().Select(d => d.Text).ToList();
        Assert.Equal(new SyntheticStories(4).Stories(200), docs);

        string b = Path.Combine(_dir, "b.txt");
        Assert.Equal(0, Run("data", "synth", "--out", b, "--stories", "200", "--seed", "4").Exit);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal(0, Run("data", "synth", "--out", b, "--stories", "200", "--seed", "5").Exit);
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Fact]
    public void Synth_RejectsAZeroCount()
    {
        var (exit, _, stderr) = Run("data", "synth", "--out", Path.Combine(_dir, "x.txt"), "--stories", "0");
        Assert.Equal(1, exit);
        Assert.Contains("at least 1", stderr);
    }

    [Fact]
    public void Download_UnknownDataset_IsRejected()
    {
        var (exit, _, stderr) = Run("data", "download", "wikipedia");
        Assert.NotEqual(0, exit);
        Assert.Contains("tinystories", stderr);
        Assert.Contains("cosmopedia:SUBSET", stderr);
        var subset = Run("data", "download", "cosmopedia:novels");
        Assert.Equal(1, subset.Exit);
        Assert.Contains("Unknown dataset 'cosmopedia:novels'", subset.Err);
        var maxFiles = Run("data", "download", "tinystories", "--max-files", "1");
        Assert.Equal(1, maxFiles.Exit);
        Assert.Contains("--max-files applies to the Parquet datasets", maxFiles.Err);
    }

    [Fact]
    public void Download_a_parquet_dataset_unreachable_explains_what_to_do_by_hand()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        string target = Path.Combine(_dir, "fw");
        var (exit, _, stderr) = Run("data", "download", "fineweb-edu-sample", "--out", target, "--max-files", "2", "--base-url", $"http://127.0.0.1:{port}/hub");
        Assert.Equal(1, exit);
        Assert.Contains("by hand", stderr);
        Assert.Contains($"http://127.0.0.1:{port}/hub/datasets/HuggingFaceFW/fineweb-edu/tree/main/sample/10BT", stderr);
        Assert.Contains(target, stderr);
    }

    [Fact]
    public void Download_Unreachable_ExplainsWhatToDoByHand()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        string target = Path.Combine(_dir, "ts");
        var (exit, _, stderr) = Run("data", "download", "tinystories", "--out", target, "--base-url", $"http://127.0.0.1:{port}/files");
        Assert.Equal(1, exit);
        Assert.Contains("download these files by hand", stderr);
        Assert.Contains($"http://127.0.0.1:{port}/files/TinyStoriesV2-GPT4-train.txt", stderr);
        Assert.Contains(target, stderr);
    }
}
