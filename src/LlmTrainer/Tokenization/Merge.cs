namespace LlmTrainer.Tokenization;

/// <summary>One BPE merge: the adjacent tokens <paramref name="Left"/> and <paramref name="Right"/> become <paramref name="Result"/>.</summary>
internal readonly record struct Merge(int Left, int Right, int Result);
