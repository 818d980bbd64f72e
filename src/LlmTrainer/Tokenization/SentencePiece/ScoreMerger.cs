namespace LlmTrainer.Tokenization;

/// <summary>
/// SentencePiece's BPE merge loop (and llama2.c's, which picks the same pairs): over a text cut into initial
/// symbols, repeatedly join the adjacent pair whose concatenation is a known piece with the highest score, the
/// leftmost pair on ties, until no adjacent pair joins. Symbols are spans of one buffer, so the concatenation of
/// two neighbours is itself a span and is looked up without allocating.
/// </summary>
internal static class ScoreMerger
{
    /// <summary>A piece's score when the span is a piece that may be merged into; null otherwise.</summary>
    public delegate float? Lookup(ReadOnlySpan<char> piece);

    /// <summary>Called for every candidate pair when it is queued: the merged span and its two halves.</summary>
    public delegate void OnCandidate(int start, int leftLength, int rightLength);

    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
        public bool Frozen;
    }

    private sealed class PairOrder : IComparer<(float Score, int Left)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((float Score, int Left) a, (float Score, int Left) b)
        {
            int byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : a.Left.CompareTo(b.Left);
        }
    }

    /// <param name="text">The buffer the symbols cut.</param>
    /// <param name="initial">The initial symbols in order (start, length, frozen: never merged), covering <paramref name="text"/>.</param>
    /// <param name="output">Receives the final symbols as (start, length), in order.</param>
    public static void Merge(ReadOnlySpan<char> text, IReadOnlyList<(int Start, int Length, bool Frozen)> initial, Lookup lookup,
                             List<(int Start, int Length)> output, OnCandidate? onCandidate = null)
    {
        int n = initial.Count;
        if (n == 0)
            return;
        var symbols = new Symbol[n];
        for (int i = 0; i < n; i++)
            symbols[i] = new Symbol { Start = initial[i].Start, Length = initial[i].Length, Prev = i - 1, Next = i + 1 < n ? i + 1 : -1, Frozen = initial[i].Frozen };

        var agenda = new PriorityQueue<(int Left, int Right, int Size), (float Score, int Left)>(PairOrder.Instance);
        for (int i = 1; i < n; i++)
            TryQueue(text, symbols, i - 1, i, lookup, agenda, onCandidate);

        while (agenda.TryDequeue(out var top, out _))
        {
            ref var left = ref symbols[top.Left];
            ref var right = ref symbols[top.Right];
            // Stale: one side has been merged away or has grown since the pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != top.Size)
                continue;
            left.Length += right.Length;
            left.Next = right.Next;
            if (right.Next >= 0)
                symbols[right.Next].Prev = top.Left;
            right.Length = 0;
            TryQueue(text, symbols, left.Prev, top.Left, lookup, agenda, onCandidate);
            TryQueue(text, symbols, top.Left, left.Next, lookup, agenda, onCandidate);
        }

        for (int i = 0; i >= 0; i = symbols[i].Next)
            output.Add((symbols[i].Start, symbols[i].Length));
    }

    private static void TryQueue(ReadOnlySpan<char> text, Symbol[] symbols, int left, int right, Lookup lookup,
                                 PriorityQueue<(int, int, int), (float, int)> agenda, OnCandidate? onCandidate)
    {
        if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen)
            return;
        int size = symbols[left].Length + symbols[right].Length;
        if (lookup(text.Slice(symbols[left].Start, size)) is not float score)
            return;
        agenda.Enqueue((left, right, size), (score, left));
        onCandidate?.Invoke(symbols[left].Start, symbols[left].Length, symbols[right].Length);
    }
}
