namespace LlmTrainer.Data;

/// <summary>One document read from an input file.</summary>
/// <param name="Text">The text, trimmed.</param>
/// <param name="Source">The file it came from.</param>
/// <param name="Line">The 1-based line where it starts.</param>
public readonly record struct Document(string Text, string Source, long Line);
