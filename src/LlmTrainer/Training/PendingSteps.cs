using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>One training step's loss and gradient norm as read back from the device.</summary>
internal readonly record struct StepValues(long Step, double Loss, double GradNorm);

/// <summary>
/// The losses and gradient norms of the steps not read yet, kept as scalar tensors on the device. Reading a value
/// makes the host wait for the device, so the trainer reads them all together (at log intervals, evaluations and
/// checkpoints) with one copy, and still knows every step's values.
/// </summary>
internal sealed class PendingSteps : IDisposable
{
    private readonly List<(long Step, Tensor Loss, Tensor GradNorm)> steps = new();

    /// <summary>Keeps a step's values; the two tensors are owned from now on.</summary>
    public void Add(long step, Tensor loss, Tensor gradNorm) => steps.Add((step, loss.DetachFromDisposeScope(), gradNorm.DetachFromDisposeScope()));

    /// <summary>Every pending step's values, in step order; none is pending afterwards.</summary>
    public List<StepValues> Read()
    {
        if (steps.Count == 0) return [];
        try
        {
            using var scope = torch.NewDisposeScope();
            var values = torch.stack(steps.SelectMany(s => new[] { s.Loss, s.GradNorm }).ToList()).to(ScalarType.Float64).ToArray<double>();
            return steps.Select((s, i) => new StepValues(s.Step, values[2 * i], values[2 * i + 1])).ToList();
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var (_, loss, gradNorm) in steps)
        {
            loss.Dispose();
            gradNorm.Dispose();
        }
        steps.Clear();
    }
}
