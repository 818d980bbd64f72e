namespace LlmTrainer.Data;

public enum SamplingMode
{
    /// <summary>Each sequence starts at a uniformly random position (nanoGPT/llama2.c style).</summary>
    Random,

    /// <summary>Every window of the token stream once per epoch, in an order shuffled afresh each epoch.</summary>
    Sequential,
}
