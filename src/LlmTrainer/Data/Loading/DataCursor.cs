namespace LlmTrainer.Data;

/// <summary>
/// Where a <see cref="DataLoader"/> stands: restoring it makes the loader produce exactly the batches it would
/// have produced next. Plain values only, so it serialises as JSON inside a checkpoint.
/// </summary>
/// <param name="Mode">"random" or "sequential".</param>
/// <param name="Rng">The generator state (64 hex digits).</param>
/// <param name="Positions">Per mixture component: the next window's place in the epoch's shuffled order (sequential).</param>
/// <param name="Epochs">Per mixture component: completed sequential passes.</param>
/// <param name="Batches">Batches drawn so far.</param>
/// <param name="Order">Sequential: the seed of the windows' order (16 hex digits), so a resumed loader shuffles every epoch alike.</param>
public sealed record DataCursor(string Mode, string Rng, IReadOnlyList<long> Positions, IReadOnlyList<long> Epochs, long Batches, string? Order = null);
