using System.Diagnostics;
using System.Security.Cryptography;
using LlmTrainer.Checkpoints;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Interop;

/// <summary>
/// Exports a model to another tool's format. Nothing is written in place: the files go to temporary names beside their
/// destination, are synced, and are renamed only once complete, so an interrupted export leaves no half-written model.
/// An existing destination is never overwritten.
/// </summary>
public static class ModelExport
{
    public static ExportResult Export(ExportSource source, ExportFormat format, string output, WeightDtype dtype, long maxShardBytes,
        IProgressReporter? progress = null)
    {
        progress ??= NullProgress.Instance;
        if (maxShardBytes <= 0)
            throw new LlmTrainerException($"--max-shard-size must be positive (default {HfExport.DefaultMaxShardBytes / 1_000_000_000}GB).");
        if (source.Tokenizer.VocabSize > source.Config.VocabSize)
            throw new LlmTrainerException(
                $"the tokenizer has {source.Tokenizer.VocabSize} tokens but the model's vocabulary has {source.Config.VocabSize}; they do not belong together.");
        if (format == ExportFormat.Llama2c && dtype != WeightDtype.F32)
            throw new LlmTrainerException($"llama2.c's run.c reads float32 weights only; drop --dtype {dtype.ToString().ToLowerInvariant()} (or use --dtype f32) for --format llama2c.");
        if (format == ExportFormat.Llama2c) Llama2cExport.Check(source);
        if (format == ExportFormat.Gguf) GgufExport.Check(source.Tokenizer);
        if (format == ExportFormat.Hf) HfExport.Check(source.Tokenizer);

        var clock = Stopwatch.StartNew();
        output = Path.GetFullPath(output);
        var parent = Path.GetDirectoryName(output)!;
        Directory.CreateDirectory(parent);
        var suffix = ".tmp-" + RandomNumberGenerator.GetHexString(8, lowercase: true);
        List<string> files;
        switch (format)
        {
            case ExportFormat.Hf:
            {
                if (File.Exists(output) || (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any()))
                    throw new LlmTrainerException($"--out '{output}' already exists; give a new directory for the Hugging Face export (llmtrain does not write over files).");
                var temp = output + suffix;
                Directory.CreateDirectory(temp);
                try
                {
                    HfExport.Write(source, temp, dtype, maxShardBytes, progress);
                    FileSync.Tree(temp);
                    if (Directory.Exists(output)) Directory.Delete(output);
                    Directory.Move(temp, output);
                    FileSync.Directory(parent);
                }
                catch
                {
                    if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
                    throw;
                }
                files = Directory.EnumerateFiles(output).Order(StringComparer.Ordinal).ToList();
                break;
            }
            case ExportFormat.Llama2c:
            {
                var swap = TokenIdSwap.ForRunC(source.Tokenizer);
                var tokenizer = swap is not null && source.Tokenizer is ByteLevelBpeTokenizer bpe ? swap.Apply(bpe) : source.Tokenizer;
                if (tokenizer is SentencePieceTokenizer sp) SentencePieceVocab.Exportable(sp, "llama2c");
                // Beside run.c's tokenizer.bin, the tokenizer in its own format (llmtrain and Hugging Face read it exactly).
                string[] names = tokenizer.FileName == Llama2cTokenizerBin.FileName ? [Llama2cTokenizerBin.FileName] : [Llama2cTokenizerBin.FileName, tokenizer.FileName];
                if (names.Contains(Path.GetFileName(output)))
                    throw new LlmTrainerException($"--out '{output}' is the name of a tokenizer file written beside the model; name the model file e.g. model.bin.");
                files = [output, .. names.Select(n => Path.Combine(parent, n))];
                Refuse(files);
                WriteAll(files, suffix, temps =>
                {
                    Llama2cExport.Write(source, temps[0], progress);
                    Llama2cTokenizerBin.Write(temps[1], tokenizer, source.Config.VocabSize);
                    if (temps.Length > 2)
                    {
                        tokenizer.Save(temps[2]);
                        FileSync.File(temps[2]);
                    }
                });
                break;
            }
            default:
            {
                files = [output];
                Refuse(files);
                WriteAll(files, suffix, temps => GgufExport.Write(source, temps[0], dtype, progress));
                break;
            }
        }
        return new ExportResult(files, files.Sum(f => new FileInfo(f).Length), clock.Elapsed);
    }

    private static void Refuse(IEnumerable<string> files)
    {
        foreach (var f in files)
        {
            if (File.Exists(f) || Directory.Exists(f))
                throw new LlmTrainerException($"'{f}' already exists; remove it or give another --out (llmtrain does not write over files).");
        }
    }

    /// <summary>Writes every file under a temporary name, then renames them all into place.</summary>
    private static void WriteAll(IReadOnlyList<string> files, string suffix, Action<string[]> write)
    {
        var temps = files.Select(f => f + suffix).ToArray();
        try
        {
            write(temps);
            for (int i = 0; i < files.Count; i++) File.Move(temps[i], files[i]);
            FileSync.Directory(Path.GetDirectoryName(files[0])!);
        }
        finally
        {
            foreach (var t in temps)
            {
                if (File.Exists(t)) File.Delete(t);
            }
        }
    }
}
