namespace LlmTrainer.Data;

/// <summary>
/// Inputs and targets, row-major [BatchSize, BlockSize]: row r of <see cref="Y"/> is row r of <see cref="X"/>
/// shifted left by one token (the next token to predict at each position).
/// </summary>
public sealed record Batch(long[] X, long[] Y, int BatchSize, int BlockSize);
