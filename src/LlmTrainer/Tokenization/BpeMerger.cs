namespace LlmTrainer.Tokenization;

/// <summary>
/// Applies merges inside one piece the way tiktoken and Hugging Face do: repeatedly merge the adjacent
/// pair with the lowest priority, the leftmost one on ties, until no adjacent pair has a merge.
/// </summary>
internal sealed class BpeMerger
{
    private const long NoMerge = long.MaxValue;

    // Pieces longer than this (long whitespace or symbol runs) use the heap so that the cost stays n log n.
    internal const int HeapThreshold = 128;

    // Key: left << 32 | right. Value: priority << 32 | result, so comparing values compares priorities.
    private readonly Dictionary<long, long> _merges;

    public BpeMerger(IReadOnlyList<Merge> merges, IReadOnlyList<int>? priorities)
    {
        _merges = new Dictionary<long, long>(merges.Count);
        for (int i = 0; i < merges.Count; i++)
        {
            var m = merges[i];
            long value = ((long)(priorities?[i] ?? i) << 32) | (uint)m.Result;
            // When a pair is listed twice the first (lowest-priority) entry wins, as in Hugging Face.
            _merges.TryAdd(Key(m.Left, m.Right), value);
        }
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private long Lookup(int left, int right) => _merges.TryGetValue(Key(left, right), out long v) ? v : NoMerge;

    /// <summary>Merges <paramref name="parts"/> in place; returns the new length.</summary>
    public int Apply(Span<int> parts) => parts.Length > HeapThreshold ? ApplyWithHeap(parts) : ApplyByScan(parts);

    /// <summary>Quadratic but allocation-free: best for the short pieces that make up almost all text.</summary>
    internal int ApplyByScan(Span<int> parts)
    {
        int n = parts.Length;
        if (n < 2)
            return n;
        Span<long> pair = n <= 256 ? stackalloc long[n] : new long[n];
        for (int i = 0; i < n - 1; i++)
            pair[i] = Lookup(parts[i], parts[i + 1]);
        while (true)
        {
            // Compare priorities only (high halves): equal priorities go to the leftmost pair.
            long best = NoMerge >> 32;
            int at = -1;
            for (int i = 0; i < n - 1; i++)
            {
                if ((pair[i] >> 32) < best)
                {
                    best = pair[i] >> 32;
                    at = i;
                }
            }
            if (at < 0)
                return n;
            parts[at] = (int)(uint)pair[at];
            parts[(at + 2)..n].CopyTo(parts[(at + 1)..]);
            if (at + 2 < n)
                pair[(at + 2)..(n - 1)].CopyTo(pair[(at + 1)..]);
            n--;
            pair[at] = at + 1 < n ? Lookup(parts[at], parts[at + 1]) : NoMerge;
            if (at > 0)
                pair[at - 1] = Lookup(parts[at - 1], parts[at]);
        }
    }

    /// <summary>Linked list plus a min-heap keyed by (priority, original position), stale entries skipped on pop.</summary>
    internal int ApplyWithHeap(Span<int> parts)
    {
        int n = parts.Length;
        if (n < 2)
            return n;
        var next = new int[n];
        var prev = new int[n];
        var alive = new bool[n];
        var heap = new PriorityQueue<int, long>(n);
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }
        void Push(Span<int> p, int i)
        {
            long v = Lookup(p[i], p[next[i]]);
            if (v != NoMerge)
                heap.Enqueue(i, (v & ~0xFFFFFFFFL) | (uint)i);
        }
        for (int i = 0; i < n - 1; i++)
            Push(parts, i);

        while (heap.TryDequeue(out int i, out long key))
        {
            int j = next[i];
            if (!alive[i] || j < 0)
                continue;
            long v = Lookup(parts[i], parts[j]);
            if (v == NoMerge || (v >> 32) != (key >> 32))
                continue;
            parts[i] = (int)(uint)v;
            alive[j] = false;
            next[i] = next[j];
            if (next[j] >= 0)
                prev[next[j]] = i;
            if (prev[i] >= 0)
                Push(parts, prev[i]);
            if (next[i] >= 0)
                Push(parts, i);
        }

        int count = 0;
        for (int i = 0; i >= 0; i = next[i])
            parts[count++] = parts[i];
        return count;
    }
}
