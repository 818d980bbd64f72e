using System.Globalization;
using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>Checkpoints: saving the run's whole state, and resuming from it exactly.</summary>
public sealed partial class Trainer
{
    /// <summary>Restores model, optimizer, step, data cursor and RNG from a checkpoint directory.</summary>
    public void Resume(string checkpointDirectory)
    {
        var state = CheckpointState.Read(checkpointDirectory);
        var hash = model.Config.ConfigHash();
        if (state.ConfigHash != hash)
            throw new LlmTrainerException(
                $"{checkpointDirectory} was written by a model of another shape (config hash {state.ConfigHash}, this config {hash}); " +
                "resume with the run's own config.json, or start a new run.");
        state.VerifyFile(checkpointDirectory, CheckpointStore.ModelFileName);
        state.VerifyFile(checkpointDirectory, CheckpointStore.OptimizerFileName);
        using (var scope = torch.NewDisposeScope())
        {
            model.load_state_dict(TensorFiles.Load(Path.Combine(checkpointDirectory, CheckpointStore.ModelFileName)));
            optimizer.load_state_dict(TensorFiles.Load(Path.Combine(checkpointDirectory, CheckpointStore.OptimizerFileName)));
        }
        step = state.Step;
        tokensSeen = state.TokensSeen;
        bestValLoss = state.BestValLoss;
        if (state.DataCursor is { } cursor)
            data.RestoreTrainCursor(cursor.Deserialize<DataCursor>() ?? throw new LlmTrainerException($"{checkpointDirectory}: state.json has an empty data cursor"));
        if (state.RngStates.TryGetValue("cpu", out var cpu)) torch.set_rng_state(cpu);
        int savedWorld = state.WorldSize ?? 1;
        if (savedWorld != WorldSize)
            progress.Warn($"{checkpointDirectory} was saved by {savedWorld} process(es) and this run has {WorldSize}: training continues from the same " +
                          $"global position ({tokensSeen:N0} tokens), but the batches differ from here on, so it is no longer bit-identical to an uninterrupted run.");
        if (device.IsCuda && state.RngStates.TryGetValue("cuda", out var cuda)) torch.cuda.set_rng_state(cuda, cudaIndex);
        // What the log holds after the checkpoint is logged again: the steps after it, and the evaluation at its step when
        // that is an evaluation step (it ran after the checkpoint was saved). A finished run's final evaluation elsewhere stays.
        if (IsMaster) MetricsLog.TruncateAfter(run.MetricsPath, step, evaluationsAtStep: step % config.EvalInterval == 0);
        progress.Info($"resumed from {checkpointDirectory} at step {step} ({tokensSeen:N0} tokens seen)");
    }

    private void SaveCheckpoint(string slot)
    {
        ReadPending(); // never save the weights of a diverged run
        if (!IsMaster) return; // the replicas are identical: rank 0 saves for all
        var rng = new Dictionary<string, byte[]> { ["cpu"] = torch.get_rng_state() };
        if (device.IsCuda) rng["cuda"] = torch.cuda.get_rng_state(cudaIndex);
        var state = new CheckpointState
        {
            Step = step,
            TokensSeen = tokensSeen,
            DataCursor = JsonSerializer.SerializeToElement(data.TrainCursor),
            RngStates = rng,
            ConfigHash = model.Config.ConfigHash(),
            TokenizerHash = data.Tokenizer.Hash,
            BestValLoss = bestValLoss,
            WorldSize = WorldSize,
        };
        run.Checkpoints.Save(slot, state, dir =>
        {
            using var scope = torch.NewDisposeScope();
            var meta = new Dictionary<string, string> { ["format"] = "llmtrain", ["step"] = step.ToString(CultureInfo.InvariantCulture) };
            TensorFiles.Save(Path.Combine(dir, CheckpointStore.ModelFileName), model.state_dict(), meta);
            TensorFiles.Save(Path.Combine(dir, CheckpointStore.OptimizerFileName), optimizer.state_dict(), meta);
        });
    }
}
