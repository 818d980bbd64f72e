using System.Text;
using System.Text.Json;

namespace LlmTrainer.Tokenization;

/// <summary>Finding and reading tokenizer files, with errors that name the file.</summary>
internal static class TokenizerFiles
{
    /// <summary>The files a directory may hold, in the order they are preferred.</summary>
    public static readonly string[] DirectoryFiles = ["tokenizer.json", "tokenizer.model", "tokenizer.bin"];

    public static Tokenizer Load(string path)
    {
        if (Directory.Exists(path))
        {
            foreach (var name in DirectoryFiles)
            {
                var file = Path.Combine(path, name);
                if (File.Exists(file))
                    return Load(file);
            }
            var encoder = Path.Combine(path, "encoder.json");
            var bpe = Path.Combine(path, "vocab.bpe");
            if (File.Exists(encoder) && File.Exists(bpe))
                return Gpt2Files.Load(encoder, bpe);
            throw new LlmTrainerException($"tokenizer directory '{path}' holds none of tokenizer.json, tokenizer.model, tokenizer.bin, encoder.json + vocab.bpe");
        }
        if (!File.Exists(path))
            throw new LlmTrainerException($"tokenizer file '{path}' does not exist");

        Span<byte> head = stackalloc byte[256];
        int headLength;
        using (var stream = File.OpenRead(path))
            headLength = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..headLength];
        string extension = Path.GetExtension(path).ToLowerInvariant();
        // A SentencePiece ModelProto starts with its first piece (field 1, length-delimited: 0x0A) and holds binary bytes.
        if (extension == ".model" || (head.Length > 0 && head[0] == 0x0A && head.IndexOfAnyInRange((byte)0, (byte)8) >= 0))
            return SentencePieceTokenizer.LoadModel(path);
        if (extension == ".bin" || Llama2cFile.Looks(head))
            return Llama2cFile.Load(path);

        if (FirstNonSpace(path) == '{')
        {
            if (Path.GetFileName(path).Equals("encoder.json", StringComparison.OrdinalIgnoreCase))
            {
                var bpe = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "vocab.bpe");
                if (!File.Exists(bpe))
                    throw new LlmTrainerException($"GPT-2 encoder file '{path}' needs vocab.bpe beside it");
                return Gpt2Files.Load(path, bpe);
            }
            bool sentencePiece;
            using (var doc = ParseJson(path))
                sentencePiece = SentencePieceJson.Matches(doc.RootElement);
            return sentencePiece ? SentencePieceJson.Load(path) : TokenizerJson.Load(path);
        }
        bool cl100k = Path.GetFileName(path).Contains("cl100k", StringComparison.OrdinalIgnoreCase);
        return TiktokenFile.Load(path, cl100k ? Patterns.Cl100k : Patterns.Gpt2, cl100k ? TiktokenFile.Cl100kSpecials : null);
    }

    private static int FirstNonSpace(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        int c;
        while ((c = reader.Read()) >= 0 && char.IsWhiteSpace((char)c))
        {
        }
        return c;
    }

    public static JsonDocument ParseJson(string path)
    {
        try
        {
            // JsonDocument does not check the UTF-8 of strings; a bad byte would only fail later, where it is read.
            byte[] bytes = File.ReadAllBytes(path);
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                throw new LlmTrainerException($"tokenizer file '{path}' is not valid UTF-8 text; the file is corrupt or not a tokenizer");
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (FileNotFoundException e)
        {
            throw new LlmTrainerException($"tokenizer file '{path}' does not exist", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new LlmTrainerException($"tokenizer file '{path}' does not exist", e);
        }
        catch (JsonException e)
        {
            throw new LlmTrainerException($"tokenizer file '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    public static IEnumerable<string> ReadLines(string path)
    {
        if (!File.Exists(path))
            throw new LlmTrainerException($"tokenizer file '{path}' does not exist");
        return File.ReadLines(path);
    }
}
