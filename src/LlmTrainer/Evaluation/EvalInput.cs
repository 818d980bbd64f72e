using System.Text;
using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Evaluation;

/// <summary>
/// What an evaluation reads: the train or val split of a run's prepared data (each data directory of the run's
/// config is its own stream, evaluated in the order the config lists them), or a text file tokenized on the fly.
/// Owns the datasets it opens.
/// </summary>
public sealed class EvalInput : IDisposable
{
    private readonly List<TokenDataset> datasets;

    private EvalInput(string description, IReadOnlyList<TokenStream> streams, List<TokenDataset> datasets)
    {
        Description = description;
        Streams = streams;
        this.datasets = datasets;
    }

    /// <summary>E.g. "val split of /data/stories" or "text /tmp/a.txt".</summary>
    public string Description { get; }

    public IReadOnlyList<TokenStream> Streams { get; }

    public long Tokens => Streams.Sum(s => s.Length);

    /// <summary>
    /// Split <paramref name="split"/> ("train" or "val") of the data the run was trained on: the directories its
    /// config names (the built-in stories are prepared into the cache if they are not there yet). Every directory
    /// must hold the split and have been tokenized with <paramref name="tokenizer"/>.
    /// </summary>
    public static EvalInput Split(DataSpec data, string split, Tokenizer tokenizer, IProgressReporter? progress = null)
    {
        if (split is not ("train" or "val"))
            throw new LlmTrainerException($"Unknown split '{split}': use 'train' or 'val'.");
        var directories = data.IsBuiltin ? [BuiltinData.EnsurePrepared(progress)] : data.Sources.Select(s => s.Path).ToList();
        var opened = new List<TokenDataset>();
        try
        {
            foreach (var directory in directories)
            {
                CheckSplitPrepared(directory, split);
                opened.Add(TokenDataset.Open(directory, split, tokenizer.Hash));
            }
        }
        catch
        {
            foreach (var d in opened)
                d.Dispose();
            throw;
        }
        return new EvalInput($"{split} split of {string.Join(", ", directories.Select(Path.GetFullPath))}", opened.Select(TokenStream.Of).ToList(), opened);
    }

    /// <summary>A stream of tokens already in memory (tests, benchmarks).</summary>
    public static EvalInput FromTokens(int[] tokens, string description) =>
        new(description, [TokenStream.Of(tokens, description)], []);

    /// <summary>
    /// A UTF-8 text file, split into documents the way <c>llmtrain prepare</c> reads <c>.txt</c> input: documents are
    /// separated by <c>&lt;|endoftext|&gt;</c> (normally on a line of their own; a file without one is a single
    /// document), each trimmed, with "\r\n" read as "\n". Each document is encoded as the end-of-text id followed by its
    /// tokens, as prepared shards hold it, so the first document's first token is predicted from the separator.
    /// Encoding stops once <paramref name="maxTokens"/> + 1 tokens are in hand.
    /// </summary>
    public static EvalInput Text(string path, Tokenizer tokenizer, long? maxTokens = null)
    {
        if (Directory.Exists(path))
            throw new LlmTrainerException($"--text '{path}' is a directory; give a UTF-8 text file.");
        if (!File.Exists(path))
            throw new LlmTrainerException($"--text '{path}' does not exist; give a UTF-8 text file.");
        if (new FileInfo(path).Length == 0)
            throw new LlmTrainerException($"--text '{path}' is empty: there is nothing to evaluate.");

        var tokens = new List<int>();
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            var context = new ReadContext(ReadOptions.Default, NullProgress.Instance) { File = path };
            foreach (var document in TextDocumentParser.Parse(stream, context))
            {
                tokens.Add(tokenizer.BosId);
                tokenizer.Encode(document.Text.AsSpan(), tokens);
                if (maxTokens is long max && tokens.Count > max)
                    break;
            }
        }
        if (tokens.Count == 0)
            throw new LlmTrainerException($"--text '{path}' holds only whitespace and <|endoftext|> separators: there is nothing to evaluate.");
        var full = Path.GetFullPath(path);
        return FromTokens(tokens.ToArray(), $"text {full}");
    }

    /// <summary>A clear error when a directory lacks the split, naming the files and the command that makes them.</summary>
    private static void CheckSplitPrepared(string directory, string split)
    {
        if (!Directory.Exists(directory) || !DatasetMeta.Exists(directory))
            return; // TokenDataset.Open explains a missing directory or meta.json
        var meta = DatasetMeta.Load(directory);
        var listed = meta.Split(split).Shards;
        string Prepare() =>
            new StringBuilder("llmtrain prepare --input ")
                .AppendJoin(' ', meta.Sources.Count > 0 ? meta.Sources.Select(s => s.Path) : ["SOURCES"])
                .Append($" --tokenizer {Path.Combine(directory, meta.Tokenizer.File)} --out NEW_DIR")
                .Append(split == "val" ? " --val-fraction 0.005" : "")
                .ToString();
        if (listed.Count == 0)
            throw new LlmTrainerException(
                $"the {split} split of {directory} is not prepared: it has no {split}_*.bin shards (meta.json lists none" +
                (split == "val" ? $", it was prepared with --val-fraction {meta.ValFraction}" : "") + "). " +
                $"Prepare the data again with the run's tokenizer ({Prepare()}) and point the run's config.json at it, or evaluate a text file with --text FILE.");
        var missing = listed.Select(s => Path.Combine(directory, s.File)).FirstOrDefault(f => !File.Exists(f));
        if (missing is not null)
            throw new LlmTrainerException(
                $"the {split} split of {directory} is incomplete: {missing} is missing (meta.json lists it among {listed.Count} {split}_*.bin shard(s)). " +
                $"Restore the file, or prepare the data again with the run's tokenizer ({Prepare()}).");
    }

    public void Dispose()
    {
        foreach (var d in datasets)
            d.Dispose();
    }
}
