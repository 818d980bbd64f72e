using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>One training step's loss and gradient norm as read back from the device, with a mixture of experts' router losses.</summary>
internal readonly record struct StepValues(long Step, double Loss, double GradNorm, double? AuxLoss = null, double? ZLoss = null);

/// <summary>The same as scalar tensors still on the device, as a step leaves them.</summary>
internal readonly record struct StepTensors(Tensor Loss, Tensor GradNorm, Tensor? AuxLoss = null, Tensor? ZLoss = null);

/// <summary>
/// The losses and gradient norms of the steps not read yet, kept as scalar tensors on the device. Reading a value
/// makes the host wait for the device, so the trainer reads them all together (at log intervals, evaluations and
/// checkpoints) with one copy, and still knows every step's values.
/// </summary>
internal sealed class PendingSteps : IDisposable
{
    private readonly List<(long Step, Tensor[] Values)> steps = new();

    /// <summary>Keeps a step's values; the tensors are owned from now on. Router losses come both or neither.</summary>
    public void Add(long step, StepTensors t)
    {
        Tensor[] values = t is { AuxLoss: { } aux, ZLoss: { } z } ? [t.Loss, t.GradNorm, aux, z] : [t.Loss, t.GradNorm];
        foreach (var v in values) v.DetachFromDisposeScope();
        steps.Add((step, values));
    }

    /// <summary>Every pending step's values, in step order; none is pending afterwards.</summary>
    public List<StepValues> Read()
    {
        if (steps.Count == 0) return [];
        try
        {
            using var scope = torch.NewDisposeScope();
            var values = torch.stack(steps.SelectMany(s => s.Values).ToList()).to(ScalarType.Float64).ToArray<double>();
            var result = new List<StepValues>(steps.Count);
            int at = 0;
            foreach (var (step, tensors) in steps)
            {
                result.Add(tensors.Length == 4
                    ? new StepValues(step, values[at], values[at + 1], values[at + 2], values[at + 3])
                    : new StepValues(step, values[at], values[at + 1]));
                at += tensors.Length;
            }
            return result;
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var (_, values) in steps)
            foreach (var v in values) v.Dispose();
        steps.Clear();
    }
}
