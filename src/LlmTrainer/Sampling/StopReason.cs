namespace LlmTrainer.Sampling;

/// <summary>Why a sample ended.</summary>
public enum StopReason
{
    /// <summary>The model produced the end-of-text token.</summary>
    EndOfText,

    /// <summary>One of the stop strings appeared.</summary>
    StopString,

    /// <summary>It reached max_new_tokens.</summary>
    MaxNewTokens,

    /// <summary>The caller cancelled generation.</summary>
    Cancelled,
}
