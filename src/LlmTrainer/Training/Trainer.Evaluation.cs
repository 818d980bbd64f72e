using LlmTrainer.Checkpoints;
using LlmTrainer.Data;
using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>Evaluation: the losses on train and on each dataset's val split, and the best checkpoint.</summary>
public sealed partial class Trainer
{
    private ExpertLoad? lastEvalLoad; // the expert load over the last evaluation's val batches

    /// <summary>Estimates the losses, logs them (with each dataset's val loss when there are several) and returns the val loss.</summary>
    private double Evaluate()
    {
        ReadPending(); // a diverged run stops before its evaluation
        var (trainLoss, valLoss, perSource) = EstimateLoss();
        var balance = lastEvalLoad?.Balance is { } b ? $", expert balance {b:F2} (max/mean load)" : "";
        var sources = perSource.Count > 1 ? $" ({string.Join(", ", perSource.Select(p => $"{p.Key} {p.Value:F4}"))})" : "";
        progress.Info($"step {step}: train loss {trainLoss:F4}, val loss {valLoss:F4}{sources}{balance}");
        metrics?.Eval(new EvalMetrics(step, tokensSeen, valLoss, trainLoss, ExpertLoad: lastEvalLoad?.Shares, ExpertBalance: lastEvalLoad?.Balance,
            SourceValLoss: perSource.Count > 1 ? perSource : null));
        AfterEval?.Invoke();
        return valLoss;
    }

    /// <summary>Keeps the weights as the best checkpoint when <paramref name="valLoss"/> is the lowest so far.</summary>
    private void SaveIfBest(double valLoss)
    {
        if (bestValLoss is { } best && valLoss >= best) return;
        bestValLoss = valLoss;
        SaveCheckpoint(CheckpointStore.Best);
    }

    /// <summary>
    /// Mean loss over eval_iters batches of train (the current stage's mixture) and of each dataset's val split, drawn
    /// from a fixed seed so evals compare; the val loss is the datasets' weighted by <see cref="TrainingData.ValWeights"/>.
    /// For a mixture of experts the expert load over the val batches is kept in <see cref="lastEvalLoad"/>.
    /// </summary>
    private (double Train, double Val, IReadOnlyDictionary<string, double> PerSource) EstimateLoss()
    {
        model.eval();
        using var _ = torch.no_grad();
        double Mean(DataLoader loader)
        {
            double sum = 0;
            for (int i = 0; i < config.EvalIters; i++)
            {
                // Each rank evaluates its rows of the global batch, as in training; the mean over the ranks is the global batch's.
                using var scope = torch.NewDisposeScope();
                var (x, y) = ToDevice(loader.GetBatch(config.BatchSize, config.BlockSize, shard));
                using (autocastDtype is { } dt ? torch.autocast(device.Type, dt) : null)
                    sum += model.loss(x, y).item<float>();
            }
            if (dist is not null) sum = dist.Mean([sum])[0];
            return sum / config.EvalIters;
        }
        var start = model.expert_load();
        var train = Mean(data.TrainEvalLoader((ulong)config.EvalSeed));
        var beforeVal = model.expert_load();
        var perSource = new Dictionary<string, double>();
        double val = 0;
        for (int i = 0; i < data.SourceNames.Count; i++)
        {
            perSource[data.SourceNames[i]] = Mean(data.ValLoader(i, (ulong)config.EvalSeed));
            val += data.ValWeights[i] * perSource[data.SourceNames[i]];
        }
        var end = model.expert_load();
        lastEvalLoad = end?.Since(beforeVal!);
        // The log line's counts are the training steps' alone.
        if (intervalLoad is not null) intervalLoad = intervalLoad.Plus(end!.Since(start!));
        model.train();
        return (train, val, perSource);
    }
}
