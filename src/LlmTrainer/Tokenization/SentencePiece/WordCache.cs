using System.Collections.Concurrent;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Speeds up encoders that see the whole text as one sequence (sentencepiece, run.c, a Llama-style tokenizer.json
/// without pre-tokenizer) without changing their output: when no piece of the vocabulary holds a space right after
/// another character, no merge can join across the start of a word (a space after a non-space), so each word
/// encodes on its own and its ids can be reused. A bounded cache from word to ids, safe for many threads.
/// </summary>
internal sealed class WordCache
{
    private const int Capacity = 1 << 18;
    private const int MaxWordChars = 64;

    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly char _space;
    private int _count;

    private WordCache(char space)
    {
        _space = space;
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>A cache when words are independent under <paramref name="pieces"/> (no piece has a space after another character), else null.</summary>
    public static WordCache? For(IEnumerable<string> pieces, char space)
    {
        foreach (var piece in pieces)
        {
            for (int i = 1; i < piece.Length; i++)
            {
                if (piece[i] == space && piece[i - 1] != space)
                    return null;
            }
        }
        return new WordCache(space);
    }

    /// <summary>Encodes <paramref name="text"/> word by word (a word starts at a space that follows another character) with <paramref name="encodeWord"/>, reusing the ids of words seen before.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output, Action<string, List<int>> encodeWord)
    {
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i < text.Length && !(text[i] == _space && text[i - 1] != _space))
                continue;
            var word = text[start..i];
            start = i;
            if (_lookup.TryGetValue(word, out var cached))
            {
                output.AddRange(cached);
                continue;
            }
            int before = output.Count;
            string key = word.ToString();
            encodeWord(key, output);
            if (word.Length <= MaxWordChars)
            {
                if (_cache.TryAdd(key, output.GetRange(before, output.Count - before).ToArray()) && Interlocked.Increment(ref _count) > Capacity)
                {
                    // Crude but bounded: start afresh; the frequent words come back within a few documents.
                    _cache.Clear();
                    Interlocked.Exchange(ref _count, 0);
                }
            }
        }
    }
}
