using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer in the GPT-2/tiktoken style: text is cut into pieces by a regex
/// (<see cref="Patterns"/>), each piece is UTF-8 encoded, and merges are applied to its bytes by
/// priority. Every byte is a token, so every string round-trips: <c>Decode(Encode(s)) == s</c>.
/// </summary>
/// <remarks>
/// <para><b>Lone surrogates.</b> A C# string may hold a surrogate half without its partner; it is not
/// valid Unicode and has no UTF-8 form. Encoding replaces it with U+FFFD (bytes EF BF BD), exactly as
/// <see cref="Encoding.UTF8"/> does, so the round trip gives the string with each lone surrogate
/// replaced by U+FFFD.</para>
/// <para><b>Ids.</b> A trained tokenizer has the 256 bytes at ids 0–255 (id = byte value), merged tokens
/// after them in the order they were learnt, then the special tokens: <see cref="EndOfText"/> first,
/// right after the BPE vocabulary, then the extra special tokens. A loaded tokenizer keeps the file's
/// ids; if the file has no <see cref="EndOfText"/>, it is added with the next free id.</para>
/// <para><b>Threads.</b> Every member is safe to call from many threads at once; encoding keeps a bounded
/// per-instance cache from piece to ids.</para>
/// </remarks>
public sealed class ByteLevelBpeTokenizer : Tokenizer
{
    /// <summary>The most unused ids a loaded file may leave above its tokens; beyond that an id is taken for corruption.</summary>
    internal const int MaxIdGap = 1 << 16;

    private const int CacheCapacity = 1 << 18;
    private const int MaxCachedPieceChars = 64;

    private readonly byte[][] _tokenBytes;
    private readonly bool[] _isSpecial;
    private readonly int[] _byteIds = new int[256];
    private readonly Merge[] _merges;
    private readonly int[]? _priorities;
    private readonly BpeMerger _merger;
    private readonly PreTokenizer _preTokenizer;
    private readonly Dictionary<string, int>? _wholeTokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _wholeTokenLookup;
    private readonly (string Text, int Id)[] _specialsByLength;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    private int _cacheCount;
    private string? _hash;

    /// <param name="tokens">Bytes of each BPE token by id; null at the ids of special tokens.</param>
    /// <param name="merges">Merges in priority order.</param>
    /// <param name="priorities">Priority of each merge when it is not its index (tiktoken files: the result's rank).</param>
    /// <param name="ignoreMerges">Whether a piece that is itself a token encodes to that token directly (tiktoken, Hugging Face <c>ignore_merges</c>).</param>
    /// <param name="source">What the data came from, for error messages.</param>
    internal ByteLevelBpeTokenizer(byte[]?[] tokens, IReadOnlyList<Merge> merges, IReadOnlyList<int>? priorities,
        IReadOnlyDictionary<string, int> specialTokens, string pattern, bool ignoreMerges, string source)
    {
        var specials = new Dictionary<string, int>(specialTokens, StringComparer.Ordinal);
        int size = tokens.Length;
        foreach (var (text, id) in specials)
        {
            // Ids may leave gaps (cl100k's specials do), but one far beyond the vocabulary is corrupt and must not size the tables.
            if (id < 0 || id >= tokens.Length + specials.Count + MaxIdGap)
                throw new LlmTrainerException($"{source}: special token '{text}' has id {id}, far outside the vocabulary of {tokens.Length} tokens");
            size = Math.Max(size, id + 1);
        }
        if (!specials.ContainsKey(EndOfText))
            specials[EndOfText] = size++;

        _tokenBytes = new byte[size][];
        _isSpecial = new bool[size];
        foreach (var (text, id) in specials)
        {
            if (id < 0)
                throw new LlmTrainerException($"{source}: special token '{text}' has a negative id {id}");
            if (id < tokens.Length && tokens[id] is not null)
                throw new LlmTrainerException($"{source}: special token '{text}' has id {id}, which is also an ordinary token's");
            if (_isSpecial[id])
                throw new LlmTrainerException($"{source}: two special tokens share id {id}");
            if (text.Length == 0)
                throw new LlmTrainerException($"{source}: a special token is the empty string");
            _isSpecial[id] = true;
            _tokenBytes[id] = Encoding.UTF8.GetBytes(text);
        }

        Array.Fill(_byteIds, -1);
        for (int id = 0; id < size; id++)
        {
            if (_isSpecial[id])
                continue;
            if (id >= tokens.Length)
            {
                // An unused id between the BPE vocabulary and a special token (cl100k has such gaps).
                _tokenBytes[id] = [];
                continue;
            }
            var bytes = tokens[id] ?? throw new LlmTrainerException($"{source}: no token has id {id}; ids must run from 0 without gaps");
            _tokenBytes[id] = bytes;
            if (bytes.Length == 0)
                throw new LlmTrainerException($"{source}: token {id} is empty");
            if (bytes.Length == 1 && _byteIds[bytes[0]] < 0)
                _byteIds[bytes[0]] = id;
        }
        int missing = Array.IndexOf(_byteIds, -1);
        if (missing >= 0)
            throw new LlmTrainerException($"{source}: no token for the single byte 0x{missing:X2}; a byte-level vocabulary needs all 256");

        foreach (var m in merges)
        {
            if (!IsOrdinary(m.Left) || !IsOrdinary(m.Right) || !IsOrdinary(m.Result)
                || _tokenBytes[m.Result].Length != _tokenBytes[m.Left].Length + _tokenBytes[m.Right].Length
                || !_tokenBytes[m.Result].AsSpan().StartsWith(_tokenBytes[m.Left])
                || !_tokenBytes[m.Result].AsSpan().EndsWith(_tokenBytes[m.Right]))
                throw new LlmTrainerException($"{source}: merge ({m.Left}, {m.Right}) -> {m.Result} does not join the bytes of its two tokens");
        }

        _merges = [.. merges];
        _priorities = priorities is null ? null : [.. priorities];
        _merger = new BpeMerger(_merges, _priorities);
        Pattern = pattern;
        _preTokenizer = PreTokenizer.Create(pattern);
        IgnoreMerges = ignoreMerges;
        if (ignoreMerges)
        {
            _wholeTokens = new Dictionary<string, int>(size, StringComparer.Ordinal);
            for (int id = 0; id < size; id++)
            {
                if (!_isSpecial[id] && _tokenBytes[id].Length > 0)
                    _wholeTokens.TryAdd(Latin1(_tokenBytes[id]), id);
            }
            _wholeTokenLookup = _wholeTokens.GetAlternateLookup<ReadOnlySpan<char>>();
        }
        SpecialTokens = specials;
        EndOfTextId = specials[EndOfText];
        _specialsByLength = [.. specials.Select(kv => (kv.Key, kv.Value)).OrderByDescending(s => s.Key.Length).ThenBy(s => s.Key, StringComparer.Ordinal)];
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        bool IsOrdinary(int id) => id >= 0 && id < size && !_isSpecial[id];
    }

    /// <summary>Number of ids, special tokens included (ids left unused between the BPE vocabulary and a special token count too, and decode to nothing).</summary>
    public override int VocabSize => _tokenBytes.Length;

    public override TokenizerKind Kind => TokenizerKind.ByteLevelBpe;

    public override string FileName => "tokenizer.json";

    /// <summary>The id of <see cref="Tokenizer.EndOfText"/>, which both starts and ends a document.</summary>
    public int EndOfTextId { get; }

    public override int BosId => EndOfTextId;

    public override int EosId => EndOfTextId;

    public override IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>The pre-tokenisation regex.</summary>
    public string Pattern { get; }

    internal bool IgnoreMerges { get; }

    internal IReadOnlyList<Merge> Merges => _merges;

    internal IReadOnlyList<int>? Priorities => _priorities;

    internal ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes[id];

    internal bool IsSpecial(int id) => _isSpecial[id];

    /// <summary>
    /// Lowercase hex SHA-256 of a canonical description (pattern, merge mode, every id's bytes, special
    /// tokens, merges in order): the same tokenizer has the same hash whatever file it was loaded from.
    /// Merge priorities beyond their order are left out, so a tiktoken file and the <c>tokenizer.json</c> saved
    /// from it hash alike.
    /// </summary>
    public override string Hash => _hash ??= ComputeHash();

    public override void Encode(ReadOnlySpan<char> text, List<int> output, bool allowSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!allowSpecial)
        {
            EncodeOrdinary(text, output);
            return;
        }
        // Next occurrence of each special token, searched again only once passed.
        Span<int> nextAt = _specialsByLength.Length <= 32 ? stackalloc int[_specialsByLength.Length] : new int[_specialsByLength.Length];
        nextAt.Fill(-2);
        int pos = 0;
        while (true)
        {
            int bestAt = -1, best = -1;
            for (int s = 0; s < _specialsByLength.Length; s++)
            {
                if (nextAt[s] == -2 || (nextAt[s] >= 0 && nextAt[s] < pos))
                {
                    int found = text[pos..].IndexOf(_specialsByLength[s].Text, StringComparison.Ordinal);
                    nextAt[s] = found < 0 ? -1 : pos + found;
                }
                // Longest first on ties: the list is sorted by length.
                if (nextAt[s] >= 0 && (bestAt < 0 || nextAt[s] < bestAt))
                {
                    bestAt = nextAt[s];
                    best = s;
                }
            }
            if (best < 0)
                break;
            EncodeOrdinary(text[pos..bestAt], output);
            output.Add(_specialsByLength[best].Id);
            pos = bestAt + _specialsByLength[best].Text.Length;
        }
        EncodeOrdinary(text[pos..], output);
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output)
    {
        int pos = 0;
        while (pos < text.Length)
        {
            int end = _preTokenizer.Next(text, pos);
            EncodePiece(text[pos..end], output);
            pos = end;
        }
    }

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        if (piece.Length == 1 && piece[0] < 0x80)
        {
            output.Add(_byteIds[piece[0]]);
            return;
        }
        bool cacheable = piece.Length <= MaxCachedPieceChars;
        if (cacheable && _cacheLookup.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        int[]? rentedIds = null;
        Span<byte> bytes = maxBytes <= 512 ? stackalloc byte[512] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            // Encoding.UTF8 replaces lone surrogates with U+FFFD.
            int n = Encoding.UTF8.GetBytes(piece, bytes);
            bytes = bytes[..n];
            Span<int> ids = n <= 512 ? stackalloc int[512] : (rentedIds = ArrayPool<int>.Shared.Rent(n));
            int count = BytesToIds(bytes, ids);
            ReadOnlySpan<int> result = ids[..count];
            output.AddRange(result);
            if (cacheable && _cacheLookup.TryAdd(piece, result.ToArray()) && Interlocked.Increment(ref _cacheCount) > CacheCapacity)
            {
                // Crude but bounded: start afresh; the hot pieces come back within a few documents.
                _cache.Clear();
                Interlocked.Exchange(ref _cacheCount, 0);
            }
        }
        finally
        {
            if (rentedBytes is not null)
                ArrayPool<byte>.Shared.Return(rentedBytes);
            if (rentedIds is not null)
                ArrayPool<int>.Shared.Return(rentedIds);
        }
    }

    /// <summary>BPE on the bytes of one piece; writes ids to <paramref name="ids"/> and returns their count.</summary>
    private int BytesToIds(ReadOnlySpan<byte> bytes, Span<int> ids)
    {
        if (_wholeTokens is not null && bytes.Length > 1)
        {
            Span<char> key = bytes.Length <= 512 ? stackalloc char[bytes.Length] : new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
                key[i] = (char)bytes[i];
            if (_wholeTokenLookup.TryGetValue(key, out int whole))
            {
                ids[0] = whole;
                return 1;
            }
        }
        for (int i = 0; i < bytes.Length; i++)
            ids[i] = _byteIds[bytes[i]];
        return _merger.Apply(ids[..bytes.Length]);
    }

    internal override byte[] Bytes(int id)
    {
        if ((uint)id >= (uint)_tokenBytes.Length)
            throw OutOfVocabulary(id);
        return _tokenBytes[id];
    }

    /// <summary>Writes Hugging Face <c>tokenizer.json</c>: a BPE model with ByteLevel pre-tokenizer and decoder, special tokens as added tokens.</summary>
    public override void Save(string path) => TokenizerJson.Save(this, path);

    internal static string Latin1(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, src) =>
        {
            for (int i = 0; i < src.Length; i++)
                chars[i] = (char)src[i];
        });
    }

    private string ComputeHash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sb = new StringBuilder();
        sb.Append("llmtrain-bpe/1\npattern ").Append(Pattern).Append("\nignore_merges ").Append(IgnoreMerges ? 1 : 0).Append('\n');
        sb.Append("vocab ").Append(VocabSize).Append('\n');
        for (int id = 0; id < VocabSize; id++)
        {
            sb.Append(_isSpecial[id] ? "special " : "token ").Append(Convert.ToHexStringLower(_tokenBytes[id])).Append('\n');
            if (sb.Length > 1 << 16)
                Flush();
        }
        sb.Append("merges ").Append(_merges.Length).Append('\n');
        for (int i = 0; i < _merges.Length; i++)
        {
            var m = _merges[i];
            sb.Append(m.Left).Append(' ').Append(m.Right).Append('\n');
            if (sb.Length > 1 << 16)
                Flush();
        }
        Flush();
        return Convert.ToHexStringLower(sha.GetHashAndReset());

        void Flush()
        {
            sha.AppendData(Encoding.UTF8.GetBytes(sb.ToString()));
            sb.Clear();
        }
    }
}
