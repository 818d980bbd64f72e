namespace LlmTrainer.Data;

public enum SamplingMode
{
    /// <summary>Each sequence starts at a uniformly random position (nanoGPT/llama2.c style).</summary>
    Random,

    /// <summary>Sequences follow each other through the token stream; a pass over it is an epoch.</summary>
    Sequential,
}
