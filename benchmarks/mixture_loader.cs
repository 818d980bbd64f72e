#:project ../src/LlmTrainer/LlmTrainer.csproj
#:property PublishAot=false
// Peak memory of a 3-source weighted mixture loader: three prepared datasets of synthetic stories (made here, or
// given as arguments), 2,000 batches of 32 × 1024 tokens drawn in random and sequential sampling; prints the resident
// set's peak (VmHWM) and the managed heap, against the datasets' size on disk. Shards are memory-mapped: the loader's
// own memory does not grow with the data.
// Usage: dotnet run mixture_loader.cs -- [DIR_A DIR_B DIR_C]   (default: three datasets of about 13 MB of text each, made in /tmp)
using System.Diagnostics;
using LlmTrainer.Data;

string[] dirs = args.Length == 3 ? args : MakeDatasets();
var datasets = dirs.Select(d => TokenDataset.Open(d, "train")).ToList();
long diskBytes = dirs.Sum(d => Directory.EnumerateFiles(d, "train_*.bin").Sum(f => new FileInfo(f).Length));
Console.WriteLine($"3 sources, {datasets.Sum(d => d.TokenCount) / 1e6:F1}M tokens, {diskBytes / 1e6:F0} MB of shards; before loading: {Rss("VmRSS")} MB resident");
foreach (var mode in new[] { SamplingMode.Random, SamplingMode.Sequential })
{
    var loader = new DataLoader([new(datasets[0], 0.5), new(datasets[1], 0.3), new(datasets[2], 0.2)], mode, seed: 1);
    var x = new long[32 * 1024];
    var y = new long[32 * 1024];
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < 2000; i++)
        loader.NextBatch(32, 1024, x.AsSpan(), y.AsSpan());
    Console.WriteLine($"{mode,-10}: 2000 batches of 32 x 1024 in {clock.Elapsed.TotalSeconds:F1} s; peak resident {Rss("VmHWM")} MB, managed heap {GC.GetTotalMemory(false) / 1e6:F1} MB");
}

static long Rss(string key) =>
    long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;

static string[] MakeDatasets()
{
    string root = Path.Combine(Path.GetTempPath(), "llmtrain-mixture-bench");
    var dirs = new List<string>();
    for (int i = 0; i < 3; i++)
    {
        string dir = Path.Combine(root, $"source{i}");
        dirs.Add(dir);
        if (Directory.Exists(dir))
            continue;
        string text = Path.Combine(root, $"source{i}.txt");
        Directory.CreateDirectory(root);
        new SyntheticStories((ulong)(10 + i)).WriteText(text, 15_000);
        new PrepareJob(new PrepareOptions([text], dir, VocabSize: 512)).Run();
    }
    return dirs.ToArray();
}
