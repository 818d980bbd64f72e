namespace LlmTrainer.Data;

/// <summary>
/// Which part of each global batch a process trains on in data-parallel training: rank <see cref="Rank"/> of
/// <see cref="Ranks"/> takes rows [Rank·B, (Rank+1)·B) of a global batch of Ranks·B rows. The default is the whole batch.
/// </summary>
public readonly record struct DataShard(int Rank, int Ranks);
