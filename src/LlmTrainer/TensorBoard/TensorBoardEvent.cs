namespace LlmTrainer.TensorBoard;

/// <summary>One decoded event: the file's version line, a set of scalars at a step, or a session marker.</summary>
/// <param name="SessionStatus">SessionLog's status when the event is one (1 is START), else null.</param>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<(string Tag, float Value)> Scalars,
    int? SessionStatus = null);
