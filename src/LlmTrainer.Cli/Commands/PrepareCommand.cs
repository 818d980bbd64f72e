using System.CommandLine;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain prepare</c>: text files in, a prepared directory of token shards out.</summary>
internal static class PrepareCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "Input files, directories or globs: TinyStories .txt, JSON arrays, JSON Lines (optionally .gz), Parquet",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "Directory to create (shards, meta.json, the tokenizer)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Use this tokenizer: tokenizer.json (byte-level or Llama-style), SentencePiece tokenizer.model, llama2.c tokenizer.bin, tiktoken file, GPT-2 files" };
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Train a tokenizer of this size on the input first (e.g. 4096)" };
        var textField = new Option<string?>("--text-field") { Description = "JSON field or Parquet column holding the text (default: story for JSON arrays, text for JSON Lines and Parquet)" };
        var format = new Option<string>("--format") { Description = "Input format: auto, txt, json, jsonl or parquet", DefaultValueFactory = _ => "auto" };
        format.AcceptOnlyFromAmong("auto", "txt", "json", "jsonl", "parquet");
        var filterField = new Option<string?>("--filter-field") { Description = "Parquet: keep only rows whose string column of this name equals --filter-value" };
        var filterValue = new Option<string?>("--filter-value") { Description = "Parquet: the value --filter-field must hold (a subset, a language)" };
        var valFraction = new Option<double>("--val-fraction")
        {
            Description = "Share of documents for validation, picked by document hash (0 for none)",
            DefaultValueFactory = _ => PrepareOptions.DefaultValFraction,
        };
        var valInput = new Option<string[]?>("--val-input")
        {
            Description = "Files, directories or globs whose documents make the val split (e.g. TinyStories-valid.txt), instead of a hash split of --input",
            AllowMultipleArgumentsPerToken = true,
        };
        var dedup = new Option<bool>("--dedup") { Description = "Drop documents whose text (ignoring whitespace differences) was seen before" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Skip malformed records, unreadable, truncated and binary files with a warning instead of stopping" };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Tokens per shard file", DefaultValueFactory = _ => PrepareOptions.DefaultShardTokens };
        var threads = new Option<int>("--threads") { Description = "Encoding threads (0: every core)", DefaultValueFactory = _ => 0 };
        var command = new Command("prepare", "Tokenize text into train/val token shards for training")
        {
            input, output, tokenizer, vocabSize, textField, format, filterField, filterValue, valFraction, valInput, dedup, skipBad, shardTokens, threads,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                if ((parse.GetValue(filterField) is null) != (parse.GetValue(filterValue) is null))
                    throw new LlmTrainerException("--filter-field and --filter-value go together: give both (e.g. --filter-field lang --filter-value python) or neither.");
                string[]? valInputs = parse.GetResult(valInput) is null ? null : parse.GetValue(valInput);
                if (valInputs is not null && parse.GetResult(valFraction) is { Implicit: false })
                    throw new LlmTrainerException("--val-input and --val-fraction both choose the val split: give one of them.");
                var options = new PrepareOptions(
                    parse.GetValue(input)!,
                    parse.GetValue(output)!,
                    parse.GetValue(tokenizer),
                    parse.GetValue(vocabSize),
                    new ReadOptions(DocumentFormats.Parse(parse.GetValue(format)!), parse.GetValue(textField), parse.GetValue(skipBad),
                        FilterField: parse.GetValue(filterField), FilterValue: parse.GetValue(filterValue)),
                    parse.GetValue(valFraction),
                    parse.GetValue(dedup),
                    parse.GetValue(shardTokens),
                    parse.GetValue(threads),
                    valInputs);
                PrepareSummary summary;
                using (var progress = ConsoleProgress.Create(stderr))
                    summary = new PrepareJob(options, progress).Run(cancellationToken);
                Print(stdout, summary);
                return Task.FromResult(0);
            }
            catch (LlmTrainerException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return Task.FromResult(1);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stderr.WriteLine("prepare cancelled; nothing was written.");
                return Task.FromResult(130);
            }
        });
        return command;
    }

    private static void Print(TextWriter o, PrepareSummary s)
    {
        o.WriteLine($"prepared {s.OutputDirectory} in {s.Elapsed.TotalSeconds:0.0} s (encoding {s.EncodeElapsed.TotalSeconds:0.0} s, {s.MegabytesPerSecond:0.0} MB/s of input)");
        o.WriteLine($"  tokenizer  {s.TokenizerFile} ({(s.TokenizerTrained ? "trained" : "given")}, vocabulary {s.VocabSize}, hash {s.TokenizerHash[..16]})");
        o.WriteLine($"  input      {s.InputBytes / 1e6:0.0} MB, {s.DocumentsRead} documents, {s.DuplicatesRemoved} duplicates removed, {s.SkippedRecords} bad records skipped" +
            (s.InvalidUtf8Replaced > 0 ? $", {s.InvalidUtf8Replaced} invalid UTF-8 sequences replaced with U+FFFD" : ""));
        o.WriteLine($"  train      {s.Train.Documents} documents, {s.Train.Tokens} tokens in {s.Train.Shards} shard(s) of {s.DType.Name()}");
        o.WriteLine($"  val        {(s.ValFromFiles ? "(from --val-input) " : "")}{s.Val.Documents} documents, {s.Val.Tokens} tokens in {s.Val.Shards} shard(s)");
    }
}
