using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LlmTrainer.Data;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain tokenizer train|encode|decode</c>: train a byte-level BPE tokenizer on text files, and
/// encode or decode with any tokenizer file <see cref="Tokenizer.Load"/> understands. A hidden
/// <c>bench</c> measures training and encoding speed on generated stories.
/// </summary>
internal static class TokenizerCommand
{
    public static Command Create()
    {
        var command = new Command("tokenizer", "Train a byte-level BPE tokenizer, or encode and decode text with one");
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(CreateEncode());
        command.Subcommands.Add(CreateDecode());
        command.Subcommands.Add(CreateBench());
        return command;
    }

    private static Option<string> TokenizerOption() => new("--tokenizer")
    {
        Description = "tokenizer.json (byte-level or Llama-style), SentencePiece tokenizer.model, llama2.c tokenizer.bin, a tiktoken rank file, or a directory with one of them or encoder.json + vocab.bpe",
        Required = true,
    };

    private static Command CreateTrain()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "Text files (or directories of .txt files); documents are separated by <|endoftext|> lines",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size, special tokens included", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write tokenizer.json", DefaultValueFactory = _ => "tokenizer.json" };
        var pattern = new Option<string>("--pattern") { Description = "Pre-tokenisation pattern: gpt2 or cl100k", DefaultValueFactory = _ => "gpt2" };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop merging when the best pair is rarer than this", DefaultValueFactory = _ => 2 };
        var special = new Option<string[]>("--special") { Description = "Extra special tokens (after <|endoftext|>)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("train", "Train a byte-level BPE tokenizer on text files and save it as tokenizer.json")
        {
            input, vocabSize, output, pattern, minFrequency, special,
        };
        command.SetAction(parse => UserErrors.Run(parse, () =>
        {
            var files = ExpandInputs(parse.GetValue(input)!);
            var options = new TokenizerTrainOptions(Patterns.FromName(parse.GetValue(pattern)!), parse.GetValue(special), parse.GetValue(minFrequency));
            var clock = Stopwatch.StartNew();
            ByteLevelBpeTokenizer tokenizer;
            using (var progress = ConsoleProgress.Create(parse.InvocationConfiguration.Error))
                tokenizer = Tokenizer.Train(ReadDocuments(files), parse.GetValue(vocabSize), options, progress);
            var path = parse.GetValue(output)!;
            tokenizer.Save(path);
            parse.InvocationConfiguration.Output.WriteLine(
                $"wrote {path}: vocabulary {tokenizer.VocabSize} ({Tokenizer.EndOfText} = {tokenizer.EndOfTextId}), hash {tokenizer.Hash[..16]}, {clock.Elapsed.TotalSeconds:0.0} s");
            return 0;
        }));
        return command;
    }

    private static Command CreateEncode()
    {
        var tokenizerPath = TokenizerOption();
        var text = new Option<string>("--text") { Description = "Text to encode (default: all of standard input)" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Read one JSON string per input line, write one JSON array of ids per line" };
        var allowSpecial = new Option<bool>("--allow-special") { Description = "Turn special-token strings such as <|endoftext|> into their ids" };
        var command = new Command("encode", "Print the token ids of text as a JSON array") { tokenizerPath, text, jsonl, allowSpecial };
        command.SetAction(parse => UserErrors.Run(parse, () =>
        {
            var tokenizer = Tokenizer.Load(parse.GetValue(tokenizerPath)!);
            var output = parse.InvocationConfiguration.Output;
            bool special = parse.GetValue(allowSpecial);
            if (parse.GetValue(jsonl))
            {
                var ids = new List<int>();
                int lineNumber = 0;
                foreach (var line in ReadLines(parse.GetValue(text)))
                {
                    lineNumber++;
                    if (line.Length == 0)
                        continue;
                    string value;
                    try
                    {
                        value = JsonSerializer.Deserialize<string>(line) ?? throw new JsonException("null");
                    }
                    catch (JsonException)
                    {
                        throw new LlmTrainerException($"input line {lineNumber} is not a JSON string (--jsonl expects one JSON string per line)");
                    }
                    ids.Clear();
                    tokenizer.Encode(value.AsSpan(), ids, special);
                    WriteIds(output, ids);
                }
                return 0;
            }
            WriteIds(output, tokenizer.Encode(parse.GetValue(text) ?? Console.In.ReadToEnd(), special));
            return 0;
        }));
        return command;
    }

    private static Command CreateDecode()
    {
        var tokenizerPath = TokenizerOption();
        var idsOption = new Option<string>("--ids") { Description = "JSON array of ids (default: read it from standard input)" };
        var command = new Command("decode", "Print the text that a JSON array of token ids stands for") { tokenizerPath, idsOption };
        command.SetAction(parse => UserErrors.Run(parse, () =>
        {
            var tokenizer = Tokenizer.Load(parse.GetValue(tokenizerPath)!);
            string json = parse.GetValue(idsOption) ?? Console.In.ReadToEnd();
            int[] ids;
            try
            {
                ids = JsonSerializer.Deserialize<int[]>(json) ?? throw new JsonException("null");
            }
            catch (JsonException)
            {
                throw new LlmTrainerException("the ids must be a JSON array of integers, e.g. [15496, 995]");
            }
            parse.InvocationConfiguration.Output.Write(tokenizer.Decode(ids));
            return 0;
        }));
        return command;
    }

    private static IEnumerable<string> ReadLines(string? text)
    {
        if (text is not null)
            return text.Split('\n');
        return ReadStdinLines();

        static IEnumerable<string> ReadStdinLines()
        {
            while (Console.In.ReadLine() is { } line)
                yield return line;
        }
    }

    private static void WriteIds(TextWriter output, IReadOnlyList<int> ids)
    {
        var sb = new StringBuilder(ids.Count * 6 + 2).Append('[');
        for (int i = 0; i < ids.Count; i++)
        {
            if (i > 0)
                sb.Append(',');
            sb.Append(ids[i]);
        }
        output.WriteLine(sb.Append(']').ToString());
    }

    private static List<string> ExpandInputs(string[] inputs)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var inDir = Directory.GetFiles(input, "*.txt").Order(StringComparer.Ordinal).ToList();
                if (inDir.Count == 0)
                    throw new LlmTrainerException($"input directory '{input}' holds no .txt files");
                files.AddRange(inDir);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                throw new LlmTrainerException($"input file '{input}' does not exist");
            }
        }
        return files;
    }

    // A file without separators would otherwise be one huge document: unbounded memory, one core.
    private const int MaxDocumentChars = 1 << 20;

    /// <summary>
    /// Streams documents: lines up to a line that is just <c>&lt;|endoftext|&gt;</c>, file by file. A document
    /// longer than about a million characters is cut at a line end, which changes the counts of a few
    /// whitespace pieces at most.
    /// </summary>
    internal static IEnumerable<string> ReadDocuments(IEnumerable<string> files)
    {
        var doc = new StringBuilder();
        foreach (var file in files)
        {
            using var reader = new StreamReader(file, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (line.Trim() == Tokenizer.EndOfText)
                {
                    if (doc.Length > 0)
                        yield return doc.ToString();
                    doc.Clear();
                    continue;
                }
                if (doc.Length > 0)
                    doc.Append('\n');
                doc.Append(line);
                if (doc.Length > MaxDocumentChars)
                {
                    yield return doc.Append('\n').ToString();
                    doc.Clear();
                }
            }
            if (doc.Length > 0)
                yield return doc.ToString();
            doc.Clear();
        }
    }

    private static Command CreateBench()
    {
        var megabytes = new Option<double>("--mb") { Description = "Megabytes of generated stories", DefaultValueFactory = _ => 100 };
        var vocabSize = new Option<int>("--vocab-size") { DefaultValueFactory = _ => 4096 };
        var input = new Option<string[]>("--input") { Description = "Text files to use instead of generated stories", AllowMultipleArgumentsPerToken = true };
        var command = new Command("bench", "Measure tokenizer training and encoding speed") { megabytes, vocabSize, input };
        command.Hidden = true;
        command.SetAction(parse => UserErrors.Run(parse, () =>
        {
            var output = parse.InvocationConfiguration.Output;
            var files = parse.GetValue(input);
            var docs = files is { Length: > 0 }
                ? ReadDocuments(ExpandInputs(files)).ToArray()
                : GeneratedStories((long)(parse.GetValue(megabytes) * 1e6));
            long bytes = docs.Sum(d => (long)Encoding.UTF8.GetByteCount(d));
            double mb = bytes / 1e6;
            output.WriteLine($"corpus: {docs.Length} documents, {mb:0.0} MB UTF-8, {Environment.ProcessorCount} cores");

            var phases = new PhaseClock();
            var clock = Stopwatch.StartNew();
            var tokenizer = Tokenizer.Train(docs, parse.GetValue(vocabSize), progress: phases);
            double train = clock.Elapsed.TotalSeconds;
            output.WriteLine($"train: vocab {tokenizer.VocabSize} in {train:0.00} s (counting {phases.CountSeconds:0.00} s, {mb / phases.CountSeconds:0.0} MB/s, {phases.CountDetail}; merges {train - phases.CountSeconds:0.00} s)");

            double cold = EncodeAll(tokenizer, docs, parallel: true, out long tokens);
            double warm = EncodeAll(tokenizer, docs, parallel: true, out _);
            double single = EncodeAll(tokenizer, docs, parallel: false, out _);
            output.WriteLine($"encode: {tokens} tokens ({(double)bytes / tokens:0.00} bytes/token)");
            output.WriteLine($"encode, all cores, cold cache: {mb / cold:0.0} MB/s");
            output.WriteLine($"encode, all cores, warm cache: {mb / warm:0.0} MB/s ({single / warm:0.00}x one core)");
            output.WriteLine($"encode, one core,  warm cache: {mb / single:0.0} MB/s");
            return 0;
        }));
        return command;
    }

    /// <summary>Built-in synthetic stories (seed 1), as <c>data synth</c> writes them, until they hold <paramref name="chars"/> characters.</summary>
    private static string[] GeneratedStories(long chars)
    {
        var stories = new List<string>();
        long total = 0;
        foreach (string story in new SyntheticStories(1).Stories(int.MaxValue))
        {
            if (total >= chars)
                break;
            stories.Add(story);
            total += story.Length + 1;
        }
        return [.. stories];
    }

    private static double EncodeAll(Tokenizer tokenizer, string[] docs, bool parallel, out long tokens)
    {
        long count = 0;
        var clock = Stopwatch.StartNew();
        if (parallel)
        {
            Parallel.ForEach(docs, () => new List<int>(), (doc, _, ids) =>
            {
                ids.Clear();
                tokenizer.Encode(doc.AsSpan(), ids);
                Interlocked.Add(ref count, ids.Count);
                return ids;
            }, _ => { });
        }
        else
        {
            var ids = new List<int>();
            foreach (var doc in docs)
            {
                ids.Clear();
                tokenizer.Encode(doc.AsSpan(), ids);
                count += ids.Count;
            }
        }
        tokens = count;
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Notes when training moves from counting to merging.</summary>
    private sealed class PhaseClock : IProgressReporter
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public double CountSeconds { get; private set; }

        public string? CountDetail { get; private set; }

        public void Report(ProgressUpdate update)
        {
            if (update.Task == "tokenizer: count" && update.Total is not null)
            {
                CountSeconds = _clock.Elapsed.TotalSeconds;
                CountDetail = update.Detail;
            }
        }

        public void Info(string message) { }

        public void Warn(string message) { }
    }
}
