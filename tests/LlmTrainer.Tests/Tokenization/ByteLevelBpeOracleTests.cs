using System.Text.Json;
using System.Text.RegularExpressions;
using LlmTrainer.Tokenization;
using Microsoft.ML.Tokenizers;
using Xunit.Abstractions;
using Tokenizer = LlmTrainer.Tokenization.Tokenizer;

namespace LlmTrainer.Tests.Tokenization;

/// <summary>
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>, in byte-level mode, as an independent implementation of
/// Hugging Face's byte-level BPE: a tokenizer trained here and saved as <c>tokenizer.json</c>, and the oracle built
/// from that file's vocabulary, merges and special tokens, must give the same ids and decode them to the same text.
/// </summary>
public sealed class ByteLevelBpeOracleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Patterns => ["gpt2", "cl100k"];

    private static readonly Lazy<IReadOnlyList<string>> Strings = new(() => OracleStrings.All());

    private static (Tokenizer Ours, BpeTokenizer Oracle) Create(string pattern, bool oracleSpecials)
    {
        var trained = pattern == "gpt2" ? RoundTripTests.Trained.Value : RoundTripTests.TrainedCl100k.Value;
        string dir = Path.Combine(Path.GetTempPath(), $"llmtrain-bpe-oracle-{Environment.ProcessId}-{pattern}-{oracleSpecials}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "tokenizer.json");
        trained.Save(path);
        var ours = Tokenizer.Load(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var model = doc.RootElement.GetProperty("model");
            var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
            var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList();
            var specials = doc.RootElement.GetProperty("added_tokens").EnumerateArray()
                .ToDictionary(t => t.GetProperty("content").GetString()!, t => t.GetProperty("id").GetInt32());
            Assert.NotEmpty(merges);
            Assert.Contains(Tokenizer.EndOfText, specials.Keys);
            Assert.Equal(ours.VocabSize, vocab.Count + specials.Count);
            string regex = pattern == "gpt2" ? OracleComparison.Gpt2Regex : OracleComparison.Cl100kRegex;
            var oracle = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new Microsoft.ML.Tokenizers.RegexPreTokenizer(new Regex(regex, RegexOptions.Compiled), oracleSpecials ? specials : null),
                SpecialTokens = oracleSpecials ? specials : null,
            });
            return (ours, oracle);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Encodes_with_special_tokens_as_ml_tokenizers_byte_level_bpe_does(string pattern)
    {
        var (ours, oracle) = Create(pattern, oracleSpecials: true);
        var (compared, byPiece) = OracleComparison.CompareAll(Strings.Value, ours, oracle, allowSpecial: true);
        output.WriteLine($"{compared} strings compared whole, {byPiece} piece by piece");
        Assert.True(compared >= 3000, $"compared {compared} strings whole");
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Encodes_special_token_strings_as_text_as_ml_tokenizers_byte_level_bpe_does(string pattern)
    {
        var (ours, oracle) = Create(pattern, oracleSpecials: false);
        var (compared, byPiece) = OracleComparison.CompareAll(Strings.Value, ours, oracle, allowSpecial: false);
        output.WriteLine($"{compared} strings compared whole, {byPiece} piece by piece");
        Assert.True(compared >= 3000, $"compared {compared} strings whole");
    }
}
