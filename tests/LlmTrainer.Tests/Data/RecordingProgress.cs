using System.Collections.Concurrent;
using LlmTrainer.Progress;

namespace LlmTrainer.Tests.Data;

/// <summary>Keeps everything reported, for assertions.</summary>
public sealed class RecordingProgress : IProgressReporter
{
    public ConcurrentQueue<ProgressUpdate> Updates { get; } = new();

    public ConcurrentQueue<string> Infos { get; } = new();

    public ConcurrentQueue<string> Warnings { get; } = new();

    public void Report(ProgressUpdate update) => Updates.Enqueue(update);

    public void Info(string message) => Infos.Enqueue(message);

    public void Warn(string message) => Warnings.Enqueue(message);
}
