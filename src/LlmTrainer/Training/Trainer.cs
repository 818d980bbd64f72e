using System.Diagnostics;
using LlmTrainer.Checkpoints;
using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Distributed;
using LlmTrainer.Model;
using LlmTrainer.Progress;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>What a finished (or interrupted) run reports.</summary>
public sealed record TrainResult(long Step, double? LastLoss, double? FirstValLoss, double? LastValLoss, double? BestValLoss, bool Interrupted);

/// <summary>
/// The training loop, top to bottom like nanoGPT's train.py: AdamW with warmup → cosine → cool-down, gradient
/// accumulation and clipping (optionally with activation checkpointing), periodic estimate_loss on train and val,
/// checkpoints (latest and best) that resume exactly, and a clean stop on request. A curriculum's data changes mixture
/// at each stage's end (<see cref="TrainingData.StageAt"/>), and evaluations report every dataset's val loss. The log
/// line, evaluation and checkpoints live in the partial files beside this one. In data-parallel training every rank
/// runs this loop on its rows of each global batch; gradients are averaged across ranks during backward
/// (DistributedDataParallel), the ranks agree after every step whether to stop, losses are averaged, and rank 0 alone
/// writes the log, the metrics and the checkpoints.
/// A step never waits for the device: its loss and gradient norm stay there until they are read together at the
/// next log line, evaluation or checkpoint. A mixture of experts trains on its router losses too (load balancing and
/// z-loss, logged apart); the losses reported and evaluated are the language-model loss alone, so that dense and MoE
/// runs compare, and each evaluation reports how evenly the experts were loaded. A loss or norm that is not finite then stops the run with the step it
/// happened at, before anything is saved after it; the steps in between have run on (at most log_interval).
/// </summary>
public sealed partial class Trainer : IDisposable
{
    private readonly TrainConfig config;
    private readonly RunDirectory run;
    private readonly TrainingData data;
    private readonly IProgressReporter progress;
    private readonly Device device;
    private readonly int cudaIndex;
    private readonly ScalarType? autocastDtype;
    private readonly Llama model;
    private readonly optim.AdamW optimizer;
    private readonly LearningRateSchedule schedule;
    private readonly DistributedContext? dist;
    private readonly nn.parallel.DistributedDataParallel? ddp;
    private readonly DataShard shard;
    private MetricsLog? metrics; // opened by Run, after a resume has cut the log back to the checkpoint
    private bool stageAnnounced; // the log names the stage a run starts (or resumes) in

    private readonly double flopsPerToken;
    private readonly double? peakTflops;

    private long step;
    private long tokensSeen;
    private double? bestValLoss;
    private double? lastLoss; // the latest step's loss read back from the device
    private readonly PendingSteps pending = new();

    /// <param name="config">A resolved config (<see cref="TrainConfig.Resolve"/>).</param>
    /// <param name="dist">The data-parallel job this process is a rank of; null for a single process.</param>
    public Trainer(TrainConfig config, RunDirectory run, TrainingData data, IProgressReporter progress, DistributedContext? dist = null)
    {
        this.config = config;
        this.run = run;
        this.data = data;
        this.progress = progress;
        this.dist = dist;
        shard = dist is null ? default : new DataShard(dist.Rank, dist.WorldSize);
        device = Device.Parse(config.Device);
        cudaIndex = Math.Max(device.Index, 0); // "cuda" without an index is cuda:0
        autocastDtype = config.Dtype == "float32" ? null : ScalarTypeExtensions.Parse(config.Dtype);
        if (device.IsCuda) torch.backends.set_allow_tf32(true);

        torch.manual_seed(config.Seed);
        model = new Llama(config.ToModelConfig(data.Tokenizer.BosId), device);
        if (config.InitFrom.Length > 0) Interop.InitFrom.LoadInto(model, config, data.Tokenizer);
        // Weight decay only on matrices (embeddings and projections), not on the norms' scales.
        var decay = model.parameters().Where(p => p.dim() >= 2).ToList();
        var noDecay = model.parameters().Where(p => p.dim() < 2).ToList();
        optimizer = new optim.AdamW(
            [new optim.ParamGroup(decay), new optim.ParamGroup(noDecay, weight_decay: 0)],
            lr: config.LearningRate, beta1: config.Beta1, beta2: config.Beta2, eps: 1e-8, weight_decay: config.WeightDecay);
        schedule = LearningRateSchedule.From(config);
        if (dist is not null)
        {
            // As DistributedDataParallel does: every replica starts from rank 0's weights. Recomputed checkpointed segments
            // accumulate a gradient more than once per backward, so their all-reduce waits for the end of backward.
            dist.BroadcastFromMaster(model.parameters().ToList());
            ddp = new nn.parallel.DistributedDataParallel(dist.Data, model.parameters().ToList(), overlap: !config.ActivationCheckpointing);
        }
        flopsPerToken = model.Config.TrainingFlopsPerToken();
        peakTflops = device.IsCuda ? PeakFlops.Bf16DenseTflops(torch.cuda.get_device_name(cudaIndex)) : null;
    }

    public Llama Model => model;

    /// <summary>Processes training together: the global batch is this many times batch_size.</summary>
    public int WorldSize => dist?.WorldSize ?? 1;

    /// <summary>Called after each evaluation is logged (the CLI redraws RUN/loss.png); it must not throw.</summary>
    public Action? AfterEval { get; init; }

    /// <summary>
    /// Trains until max_iters or until <paramref name="stop"/> is signalled (then saves and returns). Running out of
    /// memory ends the run with the step it happened at and what to change; the last checkpoint stays.
    /// </summary>
    public TrainResult Run(CancellationToken stop)
    {
        try
        {
            return RunSteps(stop);
        }
        catch (TorchException e) when (dist?.PeerFailure(e, step) is { } failure)
        {
            throw failure;
        }
        catch (TorchOutOfMemoryException e)
        {
            int newline = e.Message.IndexOf('\n');
            var what = (newline < 0 ? e.Message : e.Message[..newline]).TrimEnd('.', ' ');
            throw new LlmTrainerException(
                $"out of memory at step {step} on {device} ({what}). Checkpoints so far are kept in {run.CheckpointsPath}. Use a smaller " +
                "batch_size (grad_accum_steps keeps the tokens per step), turn on activation_checkpointing, or use a smaller model.", e);
        }
    }

    /// <summary>Sequential sampling with max_epochs: true once a source has been walked that many times.</summary>
    private bool EpochsDone() => config.MaxEpochs > 0 && data.TrainCursor.Epochs.Max() >= config.MaxEpochs;

    private TrainResult RunSteps(CancellationToken stop)
    {
        // Opened now and not by the constructor: Resume has cut the log back to its checkpoint's step first.
        metrics = IsMaster ? new MetricsLog(run.MetricsPath) : null;
        double? firstVal = null, lastVal = null;
        lastLoss = null;
        WarnOfUntrainedStages();
        var clock = Stopwatch.StartNew();
        StartInterval();
        bool interrupted = false;

        while (step < config.MaxIters && !EpochsDone())
        {
            EnterStage(data.StageAt(step, tokensSeen));

            // Evaluate every eval_interval steps, before the step (a resumed run too: Resume dropped the evaluation logged
            // at its checkpoint's step when it is one of these, since it came after the checkpoint and is made again).
            if (step % config.EvalInterval == 0)
            {
                var valLoss = Evaluate();
                (firstVal, lastVal) = (firstVal ?? valLoss, valLoss);
                if (step > 0) SaveIfBest(valLoss);
            }

            double lr = schedule.At(step);
            optimizer.LearningRate = lr;
            pending.Add(step, TrainStep());
            step++;
            tokensSeen += config.TokensPerStep * WorldSize;
            progress.Report(new ProgressUpdate("train", step, config.MaxIters, "steps", lastLoss is { } l ? $"loss {l:F3}" : null, LiveOnly: true));

            if (step % config.LogInterval == 0 || step == config.MaxIters) LogStep(lr);
            if (step % config.CheckpointInterval == 0 && step < config.MaxIters) SaveCheckpoint(CheckpointStore.Latest);
            // Every rank stops after the same step, whichever of them was asked to.
            if (dist is null ? stop.IsCancellationRequested : dist.AnyRank(stop.IsCancellationRequested))
            {
                interrupted = true;
                break;
            }
        }

        if (!interrupted)
        {
            if (EpochsDone()) progress.Info($"max_epochs {config.MaxEpochs} reached at step {step}.");
            var valLoss = Evaluate();
            (firstVal, lastVal) = (firstVal ?? valLoss, valLoss);
            SaveIfBest(valLoss);
        }
        SaveCheckpoint(CheckpointStore.Latest);
        dist?.Barrier(); // every rank ends when rank 0's checkpoint is written
        progress.Info($"{(interrupted ? "stopped" : "finished")} at step {step} after {Format(clock.Elapsed)}; checkpoints in {run.CheckpointsPath}");
        return new TrainResult(step, lastLoss, firstVal, lastVal, bestValLoss, interrupted);
    }

    /// <summary>Moves the training batches to a curriculum's next stage, and says so (at the start, the stage it starts in).</summary>
    private void EnterStage(int stage)
    {
        bool starting = !stageAnnounced;
        stageAnnounced = true;
        if (stage == data.Stage && !(starting && data.Stages.Count > 1)) return;
        data.EnterStage(stage);
        var s = data.Stages[stage];
        var until = s.Until is { } end ? $" until {(end.InTokens ? $"{end.Value:N0} tokens" : $"step {end.Value}")}" : " to the end";
        progress.Info($"stage {stage + 1}/{data.Stages.Count} from step {step}{until}: {s.Description}");
        metrics?.Event("stage", step, new Dictionary<string, object?> { ["stage"] = stage + 1, ["stages"] = data.Stages.Count, ["tokens"] = tokensSeen, ["data"] = s.Description });
    }

    /// <summary>
    /// A stage that begins after max_iters is not trained in this run (a resume with a higher max_iters reaches it), and
    /// one whose token end falls in the step where it begins is never trained: both are said at the start.
    /// </summary>
    private void WarnOfUntrainedStages()
    {
        long tokensPerStep = config.TokensPerStep * WorldSize;
        for (int i = 1; i < data.Stages.Count; i++)
        {
            long start = data.Stages[i - 1].Until!.Value.Step(tokensPerStep);
            if (start >= config.MaxIters)
                progress.Warn($"stage {i + 1} of {data.Stages.Count} starts at step {start}, but this run stops at max_iters {config.MaxIters}; it trains on stages before it only.");
            // Token ends closer together than one step's tokens leave a stage no step of its own.
            else if (data.Stages[i].Until is { } end && end.Step(tokensPerStep) <= start)
                progress.Warn($"stage {i + 1} of {data.Stages.Count} ends at {end} within step {start}, where it begins ({tokensPerStep:N0} tokens a step), so it trains no step; move its until further.");
        }
    }

    private bool IsMaster => dist?.IsMaster ?? true;

    /// <summary>
    /// Reads back the pending steps' losses and gradient norms (waiting for the device) and stops the run at the first
    /// step where one is not finite. Returns the last step's values, or null when no step was pending.
    /// </summary>
    private StepValues? ReadPending()
    {
        var values = pending.Read();
        if (dist is not null && values.Count > 0)
        {
            // The global batch's losses: the mean of the ranks' (the gradient norm is the same on every rank already).
            var mean = dist.Mean(values.SelectMany(v => new[] { v.Loss, v.AuxLoss ?? 0, v.ZLoss ?? 0 }).ToArray());
            values = values.Select((v, i) => v with
            {
                Loss = mean[3 * i],
                AuxLoss = v.AuxLoss is null ? null : mean[3 * i + 1],
                ZLoss = v.ZLoss is null ? null : mean[3 * i + 2],
            }).ToList();
        }
        foreach (var v in values)
        {
            if (!double.IsFinite(v.Loss) || !double.IsFinite(v.GradNorm))
            {
                // Recorded, so that 'llmtrain runs' can tell a diverged run from one that was stopped.
                metrics?.Event("diverged", v.Step, new Dictionary<string, object?> { ["loss"] = v.Loss, ["grad_norm"] = v.GradNorm });
                throw new LlmTrainerException(
                    $"training diverged at step {v.Step}: loss {v.Loss}, gradient norm {v.GradNorm}. The last good checkpoint is kept in " +
                    $"{Path.Combine(run.CheckpointsPath, CheckpointStore.Latest)}. Lower learning_rate, raise warmup_iters or set grad_clip.");
            }
        }
        if (values.Count == 0) return null;
        lastLoss = values[^1].Loss;
        return values[^1];
    }

    /// <summary>
    /// One optimizer step over grad_accum_steps micro-batches; returns the mean language-model loss, the pre-clip
    /// gradient norm and, for a mixture of experts, the mean router losses as scalar tensors on the device (reading them
    /// would make the host wait for the step to finish).
    /// </summary>
    private StepTensors TrainStep()
    {
        using var scope = torch.NewDisposeScope();
        model.train();
        int k = config.GradAccumSteps;
        Tensor? lossSum = null, auxSum = null, zSum = null;
        static Tensor Accumulate(Tensor? sum, Tensor value) => (sum is null ? value : sum + value).MoveToOuterDisposeScope();
        for (int micro = 0; micro < k; micro++)
        {
            using var microScope = torch.NewDisposeScope();
            var (x, y) = ToDevice(data.NextTrainBatch(config.BatchSize, config.BlockSize, shard));
            ddp?.prepare(sync: micro == k - 1); // the micro-steps before the last accumulate locally
            var (loss, router) = TrainingStep.ForwardBackward(model, x, y, k, autocastDtype, config.ActivationCheckpointing,
                config.MoeAuxLossCoef, config.MoeZLossCoef);
            lossSum = Accumulate(lossSum, loss);
            if (router?.AuxLoss is { } aux && router.ZLoss is { } z)
            {
                auxSum = Accumulate(auxSum, aux.detach());
                zSum = Accumulate(zSum, z.detach());
            }
        }
        if (ddp is not null)
        {
            var reduced = ddp.finish();
            reduceWaitSeconds += reduced.WaitSeconds;
            reduceSeconds += reduced.AllReduceSeconds ?? 0;
            reduceUntimed |= reduced.AllReduceSeconds is null;
            bucketsDuringBackward += reduced.BucketsDuringBackward;
            buckets += reduced.Buckets;
        }
        var norm = nn.utils.clip_grad_norm_(model.parameters(), config.GradClip); // 0 only measures
        optimizer.step();
        optimizer.zero_grad(set_to_none: true);
        Tensor Mean(Tensor sum) => (k > 1 ? sum / k : sum).MoveToOuterDisposeScope();
        return new StepTensors(Mean(lossSum!), norm.MoveToOuterDisposeScope(), auxSum is null ? null : Mean(auxSum), zSum is null ? null : Mean(zSum));
    }

    /// <summary>
    /// Token ids as int64 tensors on the device. For CUDA they go through page-locked memory and copy without blocking,
    /// so the host moves on while the copy waits its turn behind the running step.
    /// </summary>
    private (Tensor X, Tensor Y) ToDevice(Batch batch)
    {
        long[] shape = [batch.BatchSize, batch.BlockSize];
        var x = torch.tensor(batch.X, shape);
        var y = torch.tensor(batch.Y, shape);
        if (!device.IsCuda) return (x, y);
        return (x.pin_memory().to(device, non_blocking: true), y.pin_memory().to(device, non_blocking: true));
    }

    public void Dispose()
    {
        ddp?.Dispose();
        pending.Dispose();
        metrics?.Dispose();
        optimizer.Dispose();
        model.Dispose();
    }
}
