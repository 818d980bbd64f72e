namespace LlmTrainer.Tokenization;

/// <summary>How <see cref="Tokenizer.Train(IEnumerable{string}, int, TokenizerTrainOptions?, LlmTrainer.Progress.IProgressReporter?)"/> builds a vocabulary.</summary>
/// <param name="Pattern">Pre-tokenisation regex (see <see cref="Patterns"/>).</param>
/// <param name="ExtraSpecialTokens">Special tokens besides <see cref="Tokenizer.EndOfText"/>; they get the ids after it, in this order.</param>
/// <param name="MinFrequency">Merging stops early when the most frequent pair occurs fewer times than this,
/// so a small corpus yields a smaller vocabulary than asked for rather than merges learnt from noise.</param>
public sealed record TokenizerTrainOptions(string Pattern = Patterns.Gpt2, IReadOnlyList<string>? ExtraSpecialTokens = null, int MinFrequency = 2);
