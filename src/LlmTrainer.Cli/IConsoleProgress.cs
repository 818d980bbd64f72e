using LlmTrainer.Progress;

namespace LlmTrainer.Cli;

/// <summary>Progress shown on the console: live bars on a terminal or plain lines elsewhere; disposing ends a live display.</summary>
internal interface IConsoleProgress : IProgressReporter, IDisposable;
