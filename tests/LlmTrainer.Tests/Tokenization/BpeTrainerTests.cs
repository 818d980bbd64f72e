using System.Text;
using LlmTrainer.Progress;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class BpeTrainerTests
{
    private static string[] MergeStrings(ByteLevelBpeTokenizer t) =>
        [.. t.Merges.Select(m => Encoding.UTF8.GetString(t.TokenBytes(m.Left)) + "+" + Encoding.UTF8.GetString(t.TokenBytes(m.Right)))];

    /// <summary>
    /// Worked out by hand. Pair counts at the start (hug 10, pug 5, pun 12, bun 4, hugs 5):
    /// h+u 15, u+g 20, p+u 17, u+n 16, b+u 4, g+s 5.
    /// 1. u+g (20). Words: h ug, p ug, p u n, b u n, h ug s. Pairs: h+ug 15, p+ug 5, p+u 12, u+n 16, b+u 4, ug+s 5.
    /// 2. u+n (16). Pairs: h+ug 15, p+ug 5, p+un 12, b+un 4, ug+s 5.
    /// 3. h+ug (15). Words: hug, p ug, p un, b un, hug s. Pairs: p+ug 5, p+un 12, b+un 4, hug+s 5.
    /// 4. p+un (12). Pairs: p+ug 5, b+un 4, hug+s 5.
    /// 5. p+ug (5): ties with hug+s at 5, and the greater pair wins: "p" sorts after "hug".
    /// 6. hug+s (5). 7. b+un (4). Then no pairs are left.
    /// </summary>
    [Fact]
    public void LearnsTheHandWorkedMerges()
    {
        var counts = new Dictionary<string, long> { ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5 };
        var t = Train(counts, vocabSize: 300, new TokenizerTrainOptions(MinFrequency: 1));
        Assert.Equal(["u+g", "u+n", "h+ug", "p+un", "p+ug", "hug+s", "b+un"], MergeStrings(t));
        // 256 bytes + 7 merged tokens, then <|endoftext|> right after them.
        Assert.Equal(264, t.VocabSize);
        Assert.Equal(263, t.EndOfTextId);
        Assert.Equal([256], t.Encode("ug"));
        Assert.Equal([258], t.Encode("hug"));
        Assert.Equal([259], t.Encode("pun"));
        Assert.Equal([260], t.Encode("pug"));
        Assert.Equal([261], t.Encode("hugs"));
        Assert.Equal([262], t.Encode("bun"));
        Assert.Equal([(int)'b', 256], t.Encode("bug"));
    }

    [Fact]
    public void MinFrequencyStopsMergingAndShrinksTheVocabulary()
    {
        var counts = new Dictionary<string, long> { ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5 };
        var warnings = new List<string>();
        var t = Train(counts, vocabSize: 300, new TokenizerTrainOptions(MinFrequency: 5), new CollectingProgress(warnings));
        Assert.Equal(["u+g", "u+n", "h+ug", "p+un", "p+ug", "hug+s"], MergeStrings(t));
        Assert.Equal(263, t.VocabSize);
        Assert.Single(warnings);
    }

    [Fact]
    public void VocabSizeLimitsTheNumberOfMerges()
    {
        var counts = new Dictionary<string, long> { ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5 };
        var t = Train(counts, vocabSize: 256 + 3 + 1);
        Assert.Equal(["u+g", "u+n", "h+ug"], MergeStrings(t));
        Assert.Equal(260, t.VocabSize);
    }

    /// <summary>"aaaa": a+a occurs 3 times (overlapping); after merging, aa+aa occurs once.</summary>
    [Fact]
    public void OverlappingPairsAreCountedAndUpdatedCorrectly()
    {
        var t = Train(new Dictionary<string, long> { ["aaaa"] = 1, ["aaa"] = 1 }, 300, new TokenizerTrainOptions(MinFrequency: 1));
        // a+a: 3 + 2 = 5. Then words aa aa, aa a: aa+aa 1, aa+a 1; tie, "aa" = "aa", then "aa" > "a" wins.
        Assert.Equal(["a+a", "aa+aa", "aa+a"], MergeStrings(t));
        Assert.Equal([257], t.Encode("aaaa"));
        Assert.Equal([258], t.Encode("aaa"));
    }

    [Fact]
    public void TrainingFromDocumentsUsesThePatternAndSkipsSpecialTokens()
    {
        var docs = new[] { "low lower lowest<|endoftext|>low", "<|endoftext|><|endoftext|>newer newest" };
        var t = Tokenizer.Train(docs, 400, new TokenizerTrainOptions(MinFrequency: 2));
        var merges = MergeStrings(t);
        Assert.DoesNotContain(merges, m => m.Contains('|'));
        Assert.Contains("l+o", merges);
        // Never across a piece boundary: no merged token holds a space after its first byte.
        for (int id = 256; id < t.EndOfTextId; id++)
            Assert.DoesNotContain((byte)' ', t.TokenBytes(id)[1..].ToArray());
    }

    [Fact]
    public void SameCorpusGivesTheSameTokenizer()
    {
        var a = Tokenizer.Train(TokenizerTestData.Corpus(150, seed: 21), 700);
        var b = Tokenizer.Train(TokenizerTestData.Corpus(150, seed: 21).Reverse(), 700);
        Assert.Equal(MergeStrings(a), MergeStrings(b));
        Assert.Equal(a.Hash, b.Hash);
        var c = Tokenizer.Train(TokenizerTestData.Corpus(150, seed: 22), 700);
        Assert.NotEqual(a.Hash, c.Hash);
    }

    [Fact]
    public void IncrementalTrainerAgreesWithNaiveRecounting()
    {
        var rng = new Random(5);
        string alphabet = "aabbbcdde ";
        for (int round = 0; round < 5; round++)
        {
            var counts = new Dictionary<string, long>();
            for (int i = 0; i < 60; i++)
            {
                var word = new string([.. Enumerable.Range(0, rng.Next(1, 12)).Select(_ => alphabet[rng.Next(alphabet.Length)])]);
                counts[word] = counts.GetValueOrDefault(word) + rng.Next(1, 20);
            }
            var t = Train(counts, 256 + 80 + 1, new TokenizerTrainOptions(MinFrequency: 1));
            Assert.Equal(NaiveMerges(counts, 80), MergeStrings(t));
        }
    }

    /// <summary>Recounts every pair before each merge: slow, obviously right, same tie rule.</summary>
    private static List<string> NaiveMerges(Dictionary<string, long> counts, int maxTokens)
    {
        var words = counts.Select(kv => (Parts: kv.Key.Select(c => c.ToString()).ToList(), kv.Value)).ToList();
        var result = new List<string>();
        var vocab = new HashSet<string>();
        while (vocab.Count < maxTokens)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (parts, count) in words)
                for (int i = 0; i + 1 < parts.Count; i++)
                    pairs[(parts[i], parts[i + 1])] = pairs.GetValueOrDefault((parts[i], parts[i + 1])) + count;
            if (pairs.Count == 0)
                break;
            // Ties: the lexicographically greater pair of byte strings (the alphabet is ASCII, so ordinal order is byte order).
            var best = pairs.OrderByDescending(p => p.Value).ThenByDescending(p => p.Key.Item1, StringComparer.Ordinal).ThenByDescending(p => p.Key.Item2, StringComparer.Ordinal).First().Key;
            result.Add(best.Item1 + "+" + best.Item2);
            vocab.Add(best.Item1 + best.Item2);
            foreach (var (parts, _) in words)
            {
                for (int i = 0; i + 1 < parts.Count; i++)
                {
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] = best.Item1 + best.Item2;
                        parts.RemoveAt(i + 1);
                    }
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Equally frequent pairs merge in a fixed order: the lexicographically greater pair of byte strings first, comparing
    /// the left tokens, then the right ones ("BA"+"A" before "B"+"ZZ" before "A"+"C" before "A"+"B").
    /// </summary>
    [Fact]
    public void TiesGoToTheLexicographicallyGreaterPairOfByteStrings()
    {
        var counts = new Dictionary<string, long> { ["BAA"] = 2, ["AB"] = 1, ["AC"] = 1, ["BZZ"] = 1 };
        var t = Train(counts, 256 + 6 + 1, new TokenizerTrainOptions(Pattern: @"\S+", MinFrequency: 1));
        // B+A and A+A tie at 2: "B" > "A". Then A+B, A+C, B+Z and Z+Z tie at 1: Z+Z; then B+ZZ beats A+C beats A+B.
        Assert.Equal(["B+A", "BA+A", "Z+Z", "B+ZZ", "A+C", "A+B"], MergeStrings(t));
        // A multi-byte character's bytes compare as bytes: é (C3 A9) sorts after every ASCII byte.
        var accented = Train(new Dictionary<string, long> { ["zz"] = 1, ["é"] = 1 }, 256 + 2 + 1, new TokenizerTrainOptions(Pattern: @"\S+", MinFrequency: 1));
        Assert.Equal(["é", "zz"], accented.Merges.Select(m => Encoding.UTF8.GetString([.. accented.TokenBytes(m.Left), .. accented.TokenBytes(m.Right)])));
    }

    [Theory]
    [InlineData(Patterns.Gpt2)]
    [InlineData(Patterns.Cl100k)]
    [InlineData(@"\p{L}+|\s+|.")]
    public void CountingOnAllCoresAgreesWithCountingOneDocumentAtATime(string pattern)
    {
        var docs = TokenizerTestData.Corpus(120, seed: 8).ToArray();
        var options = new TokenizerTrainOptions(pattern);
        var preTokenizer = PreTokenizer.Create(pattern);
        var specials = BpeTrainer.SpecialTokenList(options);
        var oneByOne = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var doc in docs)
            PreTokenCounter.CountDocument(doc, preTokenizer, specials, oneByOne);
        // The pieces cover every character of the documents, once.
        Assert.Equal(docs.Sum(d => (long)d.Length), oneByOne.Sum(p => p.Key.Length * p.Value));
        var parallel = PreTokenCounter.Count(docs, preTokenizer, specials, NullProgress.Instance);
        Assert.Equal(oneByOne.OrderBy(p => p.Key, StringComparer.Ordinal), parallel.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(Tokenizer.Train(docs, 600, options).Hash, Train(oneByOne, 600, options).Hash);
    }

    [Fact]
    public void ExtraSpecialTokensFollowEndOfText()
    {
        var t = Tokenizer.Train(TokenizerTestData.Corpus(50), 400, new TokenizerTrainOptions(ExtraSpecialTokens: ["<|pad|>", "<|user|>"]));
        Assert.Equal(397, t.EndOfTextId);
        Assert.Equal(398, t.SpecialTokens["<|pad|>"]);
        Assert.Equal(399, t.SpecialTokens["<|user|>"]);
        Assert.Equal(400, t.VocabSize);
    }

    [Fact]
    public void TooSmallVocabularyIsAUserError()
    {
        var e = Assert.Throws<LlmTrainerException>(() => Tokenizer.Train(["abc"], 200));
        Assert.Contains("257", e.Message);
        Assert.Throws<LlmTrainerException>(() => Tokenizer.Train(["abc"], 300, new TokenizerTrainOptions(ExtraSpecialTokens: [Tokenizer.EndOfText])));
    }

    [Fact]
    public void ReportsProgress()
    {
        var updates = new List<ProgressUpdate>();
        var progress = new CollectingProgress([], updates);
        Tokenizer.Train(TokenizerTestData.Corpus(100), 500, progress: progress);
        Assert.Contains(updates, u => u.Task == "tokenizer: count");
        Assert.Contains(updates, u => u.Task == "tokenizer: merges" && u.Completed == 499);
    }

    private static ByteLevelBpeTokenizer Train(IReadOnlyDictionary<string, long> counts, int vocabSize, TokenizerTrainOptions? options = null, IProgressReporter? progress = null)
        => BpeTrainer.Train(counts, vocabSize, options ?? new TokenizerTrainOptions(), progress ?? NullProgress.Instance);

    private sealed class CollectingProgress(List<string> warnings, List<ProgressUpdate>? updates = null) : IProgressReporter
    {
        public void Report(ProgressUpdate update)
        {
            lock (warnings)
                updates?.Add(update);
        }

        public void Info(string message) { }

        public void Warn(string message) => warnings.Add(message);
    }
}
