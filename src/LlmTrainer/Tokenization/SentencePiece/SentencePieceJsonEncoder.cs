using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Encodes as Hugging Face <c>tokenizers</c> does with a Llama-style <c>tokenizer.json</c>: the normalizer prepends
/// U+2581 and turns spaces into it (or a Metaspace pre-tokenizer does, optionally splitting before each U+2581), then
/// each word's characters become tokens (unknown ones their <c>&lt;0xXX&gt;</c> byte tokens, or <c>&lt;unk&gt;</c>, a run of
/// them one <c>&lt;unk&gt;</c>) and BPE merges apply by rank (<see cref="BpeMerger"/>).
/// </summary>
internal sealed class SentencePieceJsonEncoder : PieceEncoder
{
    /// <summary>How spaces become U+2581 and where it is prepended.</summary>
    /// <param name="Prepend">Prepend the replacement to a non-empty text (the Prepend normalizer, or Metaspace's "always").</param>
    /// <param name="PrependFirstOnly">Metaspace's "first": only to the start of the input, not after a special token.</param>
    /// <param name="SkipIfStartsWithReplacement">Metaspace does not prepend to text that already starts with the replacement.</param>
    /// <param name="Split">Metaspace's split: each word starts at a replacement character.</param>
    public sealed record Spaces(char Replacement, bool Prepend, bool PrependFirstOnly, bool SkipIfStartsWithReplacement, bool Split);

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly BpeMerger _merger;
    private readonly int[]? _byteIds;
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly Spaces _spaces;
    private readonly WordCache? _words;

    public SentencePieceJsonEncoder(Dictionary<string, int> vocab, IReadOnlyList<Merge> merges, int[]? byteIds, int unkId, bool fuseUnk, Spaces spaces)
    {
        _lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _merger = new BpeMerger(merges, null);
        _byteIds = byteIds;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        _spaces = spaces;
        // Without Metaspace's split the whole text is one word; cut it where no merge can join anyway.
        if (!spaces.Split && (byteIds is not null || vocab.ContainsKey(spaces.Replacement.ToString())))
            _words = WordCache.For(vocab.Keys, spaces.Replacement);
    }

    public override void Encode(ReadOnlySpan<char> text, List<int> output, bool first)
    {
        if (text.Length == 0)
            return;
        var s = _spaces;
        var sb = new StringBuilder(text.Length + 1);
        AppendScalars(text, sb, null);
        sb.Replace(' ', s.Replacement);
        if (s.Prepend && (first || !s.PrependFirstOnly) && !(s.SkipIfStartsWithReplacement && sb[0] == s.Replacement))
            sb.Insert(0, s.Replacement);
        string normalized = sb.ToString();
        if (_words is not null)
        {
            _words.Encode(normalized, output, (word, ids) => EncodeWord(word, ids));
            return;
        }

        int wordStart = 0;
        for (int i = 1; i <= normalized.Length; i++)
        {
            if (i == normalized.Length || (s.Split && normalized[i] == s.Replacement))
            {
                EncodeWord(normalized.AsSpan(wordStart, i - wordStart), output);
                wordStart = i;
            }
        }
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        var ids = new List<int>(word.Length);
        Span<byte> bytes = stackalloc byte[8];
        bool previousUnknown = false;
        for (int i = 0; i < word.Length; i++)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var character = word.Slice(i, length);
            i += length - 1;
            if (_lookup.TryGetValue(character, out int id))
            {
                ids.Add(id);
                previousUnknown = false;
                continue;
            }
            if (_byteIds is not null)
            {
                // Byte fallback applies only when every byte of the character has its token.
                int n = Encoding.UTF8.GetBytes(character, bytes);
                bool all = true;
                foreach (byte b in bytes[..n])
                    all &= _byteIds[b] >= 0;
                if (all)
                {
                    foreach (byte b in bytes[..n])
                        ids.Add(_byteIds[b]);
                    previousUnknown = false;
                    continue;
                }
            }
            if (!(_fuseUnk && previousUnknown))
                ids.Add(_unkId);
            previousUnknown = true;
        }
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids);
        int count = _merger.Apply(span);
        output.AddRange(span[..count]);
    }
}
