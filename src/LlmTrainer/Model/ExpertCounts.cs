namespace LlmTrainer.Model;

/// <summary>
/// A model's running tally of the assignments each MoE layer routed to each expert, and of those dropped for capacity.
/// Kept on the host from the per-expert sizes the dispatch reads back anyway, so counting costs no device sync.
/// </summary>
internal sealed class ExpertCounts(int layers, int experts)
{
    private readonly long[][] routed = Enumerable.Range(0, layers).Select(_ => new long[experts]).ToArray();
    private long dropped;

    /// <summary>While true, forward passes are not counted (activation checkpointing's recomputation runs them twice).</summary>
    public bool Paused { get; set; }

    public void Add(int layer, long[] perExpert, long droppedAssignments)
    {
        if (Paused) return;
        for (int e = 0; e < perExpert.Length; e++) routed[layer][e] += perExpert[e];
        dropped += droppedAssignments;
    }

    public ExpertLoad Snapshot() => new(routed.Select(r => (long[])r.Clone()).ToArray(), dropped);
}
