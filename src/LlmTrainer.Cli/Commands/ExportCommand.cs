using System.CommandLine;
using System.Globalization;
using LlmTrainer.Checkpoints;
using LlmTrainer.Interop;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain export [RUN|CHECKPOINT] --format hf|llama2c|gguf --out PATH [--dtype f32|f16|bf16] [--max-shard-size 5GB]</c>:
/// writes a trained model (by default the newest run's best checkpoint, else its latest, as <c>sample</c> picks it) in
/// another tool's format. Which checkpoint and the progress go to standard error; the files written to standard output.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string?>("checkpoint")
        {
            Description = "A run directory (its best checkpoint, else latest), a checkpoint directory, or another tool's checkpoint; default: the newest run under runs/",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var format = new Option<string>("--format") { Description = "hf (a Hugging Face directory), llama2c (run.c's model.bin + tokenizer.bin) or gguf (llama.cpp)", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write: a new directory for hf, a file for llama2c and gguf", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weight type: f32, f16 or bf16 (llama2c: f32 only)", DefaultValueFactory = _ => "f32" };
        var maxShard = new Option<string>("--max-shard-size")
        {
            Description = "hf: split the safetensors into shards of at most this size (e.g. 5GB, 500MB)", DefaultValueFactory = _ => "5GB",
        };
        var command = new Command("export", "Write a trained model for Hugging Face transformers, llama2.c's run.c or llama.cpp")
        {
            checkpoint, format, output, dtype, maxShard,
        };
        command.SetAction(parse => Run(parse.GetValue(checkpoint), ExportFormats.Parse(parse.GetValue(format)!), parse.GetValue(output)!,
            WeightDtypes.Parse(parse.GetValue(dtype)!), ParseSize(parse.GetValue(maxShard)!), Console.Out, Console.Error));
        return command;
    }

    public static int Run(string? checkpoint, ExportFormat format, string output, WeightDtype dtype, long maxShardBytes, TextWriter stdout, TextWriter stderr)
    {
        var (path, description) = TrainedModel.Locate(checkpoint);
        stderr.WriteLine(description);
        using var trained = TrainedModel.Load(path, "cpu");
        var name = trained.Run?.Name ?? Path.GetFileNameWithoutExtension(trained.CheckpointPath.TrimEnd('/'));
        var source = new ExportSource(trained.Model.Config, trained.Model.state_dict(), trained.Tokenizer, name)
        {
            RouterAuxLossCoef = trained.Config.MoeAuxLossCoef,
        };
        ExportResult result;
        using (var progress = new ConsoleProgress(stderr))
            result = ModelExport.Export(source, format, output, dtype, maxShardBytes, progress);
        foreach (var file in result.Files)
            stdout.WriteLine($"{file}  {Size(new FileInfo(file).Length)}");
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exported {Size(result.Bytes)} in {result.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }

    private static string Size(long bytes) =>
        bytes >= 1_000_000_000 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB")
        : bytes >= 1_000_000 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB");

    /// <summary>A size as transformers writes it: a number of bytes, or with a decimal unit (KB, MB, GB) or a binary one (KiB, MiB, GiB).</summary>
    internal static long ParseSize(string text)
    {
        var t = text.Trim();
        int split = 0;
        while (split < t.Length && (char.IsDigit(t[split]) || t[split] == '.')) split++;
        var unit = t[split..].Trim().ToUpperInvariant();
        long factor = unit switch
        {
            "" or "B" => 1,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "KIB" => 1L << 10,
            "MIB" => 1L << 20,
            "GIB" => 1L << 30,
            _ => 0,
        };
        if (factor == 0 || !double.TryParse(t[..split], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !(n > 0))
            throw new LlmTrainerException($"--max-shard-size '{text}' is not a size; write it like 5GB, 500MB or 1000000.");
        return (long)(n * factor);
    }
}
