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
            Description = "Input files, directories or globs: TinyStories .txt, JSON arrays, JSON Lines, optionally .gz",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--out") { Description = "Directory to create (shards, meta.json, the tokenizer)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Use this tokenizer: tokenizer.json (byte-level or Llama-style), SentencePiece tokenizer.model, llama2.c tokenizer.bin, tiktoken file, GPT-2 files" };
        var vocabSize = new Option<int?>("--vocab-size") { Description = "Train a tokenizer of this size on the input first (e.g. 4096)" };
        var textField = new Option<string?>("--text-field") { Description = "JSON field holding the text (default: story for JSON arrays, text for JSON Lines)" };
        var format = new Option<string>("--format") { Description = "Input format: auto, txt, json or jsonl", DefaultValueFactory = _ => "auto" };
        format.AcceptOnlyFromAmong("auto", "txt", "json", "jsonl");
        var valFraction = new Option<double>("--val-fraction")
        {
            Description = "Share of documents for validation, picked by document hash (0 for none)",
            DefaultValueFactory = _ => PrepareOptions.DefaultValFraction,
        };
        var dedup = new Option<bool>("--dedup") { Description = "Drop documents whose text (ignoring whitespace differences) was seen before" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Skip malformed records, unreadable, truncated and binary files with a warning instead of stopping" };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Tokens per shard file", DefaultValueFactory = _ => PrepareOptions.DefaultShardTokens };
        var threads = new Option<int>("--threads") { Description = "Encoding threads (0: every core)", DefaultValueFactory = _ => 0 };
        var command = new Command("prepare", "Tokenize text into train/val token shards for training")
        {
            input, output, tokenizer, vocabSize, textField, format, valFraction, dedup, skipBad, shardTokens, threads,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                var options = new PrepareOptions(
                    parse.GetValue(input)!,
                    parse.GetValue(output)!,
                    parse.GetValue(tokenizer),
                    parse.GetValue(vocabSize),
                    new ReadOptions(DocumentFormats.Parse(parse.GetValue(format)!), parse.GetValue(textField), parse.GetValue(skipBad)),
                    parse.GetValue(valFraction),
                    parse.GetValue(dedup),
                    parse.GetValue(shardTokens),
                    parse.GetValue(threads));
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
        o.WriteLine($"  val        {s.Val.Documents} documents, {s.Val.Tokens} tokens in {s.Val.Shards} shard(s)");
    }
}
