using System.CommandLine;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain data synth|download</c>: make built-in synthetic stories, or fetch a public dataset.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "Generate synthetic stories or download a public dataset");
        command.Subcommands.Add(CreateSynth());
        command.Subcommands.Add(CreateDownload());
        return command;
    }

    private static Command CreateSynth()
    {
        var output = new Option<string>("--out") { Description = "Text file to write (TinyStories format: stories separated by <|endoftext|> lines)", Required = true };
        var stories = new Option<int>("--stories") { Description = "Number of stories", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<ulong>("--seed") { Description = "Generator seed: the same seed gives the same stories", DefaultValueFactory = _ => 0UL };
        var command = new Command("synth", "Write synthetic TinyStories-like stories to a text file") { output, stories, seed };
        command.SetAction(parse => UserErrors.Run(parse, () =>
        {
            string path = parse.GetValue(output)!;
            int count = parse.GetValue(stories);
            string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null)
                Directory.CreateDirectory(dir);
            long bytes;
            using (var progress = ConsoleProgress.Create(parse.InvocationConfiguration.Error))
                bytes = new SyntheticStories(parse.GetValue(seed)).WriteText(path, count, progress);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {path}: {count} stories, {bytes / 1e6:0.0} MB");
            return 0;
        }));
        return command;
    }

    private static Command CreateDownload()
    {
        var dataset = new Argument<string>("dataset") { Description = $"The dataset: {HubDataset.Help}" };
        var output = new Option<string?>("--out") { Description = "Directory for the files (default: data/raw/DATASET, the subset as a folder)" };
        var baseUrl = new Option<string?>("--base-url") { Description = "Where the files are (a mirror): TinyStories' folder, or a Hugging Face hub for the Parquet datasets" };
        var maxFiles = new Option<int?>("--max-files") { Description = "Parquet datasets: only the first N files (in name order)" };
        var command = new Command("download", "Download a public dataset, resuming an interrupted download and verifying checksums") { dataset, output, baseUrl, maxFiles };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            var stdout = parse.InvocationConfiguration.Output;
            try
            {
                var hub = HubDataset.Parse(parse.GetValue(dataset)!);
                if (hub is null)
                {
                    if (parse.GetValue(maxFiles) is not null)
                        throw new LlmTrainerException("--max-files applies to the Parquet datasets; tinystories is two text files.");
                    string dir = parse.GetValue(output) ?? Path.Combine("data", "raw", "tinystories");
                    IReadOnlyList<string> paths;
                    using (var progress = ConsoleProgress.Create(stderr))
                        paths = await TinyStoriesDownload.DownloadAsync(dir, parse.GetValue(baseUrl), progress, null, cancellationToken);
                    foreach (string path in paths)
                        stdout.WriteLine(path);
                    // The 15m/42m/110m configs read data/tinystories and use llama2.c's 32000-token vocabulary.
                    stdout.WriteLine($"next: llmtrain prepare --input {paths[0]} --val-input {paths[1]} --out {Path.Combine("data", "tinystories")} --vocab-size 32000");
                    return 0;
                }
                string target = parse.GetValue(output) ?? hub.DefaultDirectory;
                IReadOnlyList<string> files;
                using (var progress = ConsoleProgress.Create(stderr))
                    files = await HubDatasetDownload.DownloadAsync(hub, target, parse.GetValue(maxFiles), parse.GetValue(baseUrl), progress, null, cancellationToken);
                foreach (string path in files)
                    stdout.WriteLine(path);
                string name = hub.Name.Replace(':', '-');
                stdout.WriteLine($"next: llmtrain prepare --input {target} --text-field {hub.TextField} --out {Path.Combine("data", name)} --vocab-size 32000");
                return 0;
            }
            catch (LlmTrainerException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stderr.WriteLine("download interrupted; run the same command again to resume.");
                return 130;
            }
        });
        return command;
    }
}
