using System.Text;
using LlmTrainer.Progress;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Learns BPE merges from a table of pre-token counts. Each distinct piece is a "word" of byte ids with
/// a count; pair counts are kept for the whole table and updated only for the words that contain the
/// merged pair (found through a pair → words index), so a merge costs time in proportion to where its
/// pair occurs, not to the corpus. The most frequent pair comes from a max-heap whose stale entries are
/// re-queued with their current count when popped.
/// </summary>
/// <remarks>
/// Deterministic: ties on count go to the lexicographically greater pair of byte strings, comparing the left tokens'
/// bytes first, then the right tokens' (so a trained vocabulary does not depend on the order the corpus was read in;
/// Hugging Face's trainer instead prefers the smaller pair of token ids).
/// A merge whose bytes already form a token (two different pairs can spell the same bytes) reuses that
/// token's id, so every id has distinct bytes.
/// </remarks>
internal static class BpeTrainer
{
    private const int ReportEveryMerges = 64;

    /// <summary>Changes whenever the same counts would train a different vocabulary (2: ties go to the greater pair), so cached data made by an older trainer is not reused.</summary>
    internal const int Version = 2;

    public static List<string> SpecialTokenList(TokenizerTrainOptions options)
    {
        var list = new List<string> { Tokenizer.EndOfText };
        foreach (var extra in options.ExtraSpecialTokens ?? [])
        {
            if (string.IsNullOrEmpty(extra))
                throw new LlmTrainerException("extra special tokens must be non-empty strings");
            if (list.Contains(extra))
                throw new LlmTrainerException($"special token '{extra}' is listed twice ({Tokenizer.EndOfText} is always included)");
            list.Add(extra);
        }
        return list;
    }

    public static ByteLevelBpeTokenizer Train(IReadOnlyDictionary<string, long> preTokenCounts, int vocabSize, TokenizerTrainOptions options, IProgressReporter progress)
    {
        var specials = SpecialTokenList(options);
        int targetTokens = vocabSize - specials.Count;
        if (targetTokens < 256)
            throw new LlmTrainerException($"vocabulary size {vocabSize} is too small: it needs 256 byte tokens plus {specials.Count} special token(s), so at least {256 + specials.Count}");
        if (options.MinFrequency < 1)
            throw new LlmTrainerException($"minimum pair frequency {options.MinFrequency} must be at least 1");
        // Validates the pattern before the long part.
        _ = PreTokenizer.Create(options.Pattern);

        var tokens = new List<byte[]>(targetTokens);
        var tokenIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < 256; b++)
        {
            tokens.Add([(byte)b]);
            tokenIds[ByteLevelBpeTokenizer.Latin1([(byte)b])] = b;
        }

        var words = BuildWords(preTokenCounts, out var counts);
        var state = new PairState(words, counts, tokens);
        var merges = new List<Merge>(targetTokens - 256);
        var stamp = new int[words.Length];
        Array.Fill(stamp, -1);

        while (tokens.Count < targetTokens && state.TryPopBest(out int left, out int right, out long count))
        {
            if (count < options.MinFrequency)
                break;
            byte[] joined = [.. tokens[left], .. tokens[right]];
            string key = ByteLevelBpeTokenizer.Latin1(joined);
            if (!tokenIds.TryGetValue(key, out int result))
            {
                result = tokens.Count;
                tokens.Add(joined);
                tokenIds[key] = result;
            }
            state.ApplyMerge(left, right, result, merges.Count, stamp);
            merges.Add(new Merge(left, right, result));
            if (merges.Count % ReportEveryMerges == 0)
                progress.Report(new ProgressUpdate("tokenizer: merges", tokens.Count, targetTokens, "tokens", $"last merge seen {count} times"));
        }
        progress.Report(new ProgressUpdate("tokenizer: merges", tokens.Count, targetTokens, "tokens"));
        if (tokens.Count < targetTokens)
            progress.Warn($"the corpus supports only {tokens.Count - 256} merges at minimum frequency {options.MinFrequency}; vocabulary size is {tokens.Count + specials.Count}, not {vocabSize}");

        var specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in specials)
            specialIds[s] = tokens.Count + specialIds.Count;
        return new ByteLevelBpeTokenizer([.. tokens], merges, null, specialIds, options.Pattern, ignoreMerges: false, "trained tokenizer");
    }

    private static int[][] BuildWords(IReadOnlyDictionary<string, long> preTokenCounts, out long[] counts)
    {
        // Sorted so that everything downstream sees the same order for the same table.
        var keys = preTokenCounts.Where(kv => kv.Value > 0).Select(kv => kv.Key).ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        var words = new int[keys.Length][];
        counts = new long[keys.Length];
        for (int w = 0; w < keys.Length; w++)
        {
            var bytes = Encoding.UTF8.GetBytes(keys[w]);
            var word = new int[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
                word[i] = bytes[i];
            words[w] = word;
            counts[w] = preTokenCounts[keys[w]];
        }
        return words;
    }

    /// <summary>Pair counts, the pair → words index and the heap, kept consistent as merges rewrite words.</summary>
    private sealed class PairState
    {
        private readonly int[][] _words;
        private readonly int[] _lengths;
        private readonly long[] _counts;
        private readonly Dictionary<long, long> _pairCounts = [];
        private readonly Dictionary<long, List<int>> _wordsWithPair = [];
        private readonly PriorityQueue<long, (long Count, long Pair)> _heap;
        private readonly HashSet<long> _grown = [];

        public PairState(int[][] words, long[] counts, List<byte[]> tokens)
        {
            _words = words;
            _counts = counts;
            _lengths = new int[words.Length];
            _heap = new PriorityQueue<long, (long Count, long Pair)>(new PairOrder(tokens));
            for (int w = 0; w < words.Length; w++)
            {
                var word = words[w];
                _lengths[w] = word.Length;
                for (int i = 0; i + 1 < word.Length; i++)
                    Add(Key(word[i], word[i + 1]), counts[w], w);
            }
            foreach (var (pair, count) in _pairCounts)
                _heap.Enqueue(pair, (count, pair));
        }

        private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

        private void Add(long pair, long count, int word)
        {
            _pairCounts[pair] = _pairCounts.GetValueOrDefault(pair) + count;
            if (!_wordsWithPair.TryGetValue(pair, out var list))
                _wordsWithPair[pair] = list = [];
            // Duplicates are harmless: ApplyMerge visits each word once per merge.
            if (list.Count == 0 || list[^1] != word)
                list.Add(word);
        }

        public bool TryPopBest(out int left, out int right, out long count)
        {
            while (_heap.TryDequeue(out long pair, out var queued))
            {
                long actual = _pairCounts.GetValueOrDefault(pair);
                if (actual != queued.Count)
                {
                    if (actual > 0)
                        _heap.Enqueue(pair, (actual, pair));
                    continue;
                }
                left = (int)(pair >> 32);
                right = (int)(uint)pair;
                count = actual;
                return true;
            }
            left = right = 0;
            count = 0;
            return false;
        }

        /// <summary>Rewrites every word holding (left, right), adjusting the counts of the pairs around each occurrence.</summary>
        public void ApplyMerge(int left, int right, int result, int mergeIndex, int[] stamp)
        {
            long merged = Key(left, right);
            _grown.Clear();
            foreach (int w in _wordsWithPair[merged])
            {
                if (stamp[w] == mergeIndex)
                    continue;
                stamp[w] = mergeIndex;
                var word = _words[w];
                long c = _counts[w];
                int n = _lengths[w], write = 0;
                for (int read = 0; read < n;)
                {
                    if (read + 1 < n && word[read] == left && word[read + 1] == right)
                    {
                        if (write > 0)
                        {
                            Subtract(Key(word[write - 1], left), c);
                            Grow(Key(word[write - 1], result), c, w);
                        }
                        if (read + 2 < n)
                        {
                            Subtract(Key(right, word[read + 2]), c);
                            Grow(Key(result, word[read + 2]), c, w);
                        }
                        Subtract(merged, c);
                        word[write++] = result;
                        read += 2;
                    }
                    else
                    {
                        word[write++] = word[read++];
                    }
                }
                _lengths[w] = write;
            }
            _wordsWithPair.Remove(merged);
            _pairCounts.Remove(merged);
            foreach (long pair in _grown)
            {
                long count = _pairCounts.GetValueOrDefault(pair);
                if (count > 0)
                    _heap.Enqueue(pair, (count, pair));
            }
        }

        private void Subtract(long pair, long count) => _pairCounts[pair] -= count;

        private void Grow(long pair, long count, int word)
        {
            Add(pair, count, word);
            _grown.Add(pair);
        }
    }

    /// <summary>Heap order: higher count first, then the greater left token's bytes, then the greater right token's.</summary>
    private sealed class PairOrder(List<byte[]> tokens) : IComparer<(long Count, long Pair)>
    {
        public int Compare((long Count, long Pair) x, (long Count, long Pair) y)
        {
            if (x.Count != y.Count)
                return y.Count.CompareTo(x.Count);
            if (x.Pair == y.Pair)
                return 0;
            int c = tokens[(int)(y.Pair >> 32)].AsSpan().SequenceCompareTo(tokens[(int)(x.Pair >> 32)]);
            return c != 0 ? c : tokens[(int)(uint)y.Pair].AsSpan().SequenceCompareTo(tokens[(int)(uint)x.Pair]);
        }
    }
}
