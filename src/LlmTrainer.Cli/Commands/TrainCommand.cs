using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Distributed;
using LlmTrainer.Progress;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain train [--config NAME|PATH] [--resume [RUN_DIR]] [--key value ...]</c>: the main job.
/// Without arguments it trains the <c>tiny</c> config on the built-in synthetic stories. With
/// <c>--nproc-per-node N</c> it starts N workers of itself (data-parallel, as <c>torchrun --standalone</c>); a process
/// started by torchrun or Slurm finds its rank in the environment and joins its job.
/// </summary>
internal static class TrainCommand
{
    public const int InterruptedExitCode = 130;

    public static Command Create()
    {
        var force = new Option<bool>("--force") { Description = "Start even when the run's memory estimate exceeds what the device has" };
        var config = ConfigOption.Create();
        var resume = new Option<string?>("--resume")
        {
            Description = "Resume a run: its directory, or the newest run under runs/ when no directory is given",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var nproc = new Option<int?>("--nproc-per-node")
        {
            Description = "Start this many data-parallel workers on this machine (like torchrun --standalone); batch_size is per worker",
        };
        var backend = new Option<string?>("--dist-backend")
        {
            Description = "Data-parallel backend: nccl (the default on CUDA) or gloo (the default on the CPU)",
        };
        var command = new Command("train", "Pretrain a LLaMA-style model. Any config key can be given as --key value (e.g. --max_iters 200)")
        {
            config, resume, force, nproc, backend,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var backendName = parse.GetValue(backend);
            if (backendName is not null and not ("nccl" or "gloo"))
                throw new LlmTrainerException($"--dist-backend '{backendName}' is not a backend: use nccl (CUDA) or gloo (CPU).");
            if (parse.GetValue(nproc) is { } workers)
                return Launcher.Run(workers, SelfCommand(), LauncherArguments(parse.Tokens.Where(t => t.Type != TokenType.Command).Select(t => t.Value).ToList()), Console.Error);
            bool resuming = parse.GetResult(resume) is not null;
            return Run(parse.GetValue(config), resuming, parse.GetValue(resume), parse.UnmatchedTokens, Console.Out, parse.GetValue(force), backendName);
        });
        return command;
    }

    /// <summary>
    /// The arguments a worker gets from <c>--nproc-per-node</c>: the launcher's own, less --nproc-per-node and its value.
    /// </summary>
    internal static List<string> LauncherArguments(IReadOnlyList<string> tokens)
    {
        var args = new List<string> { "train" };
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] == "--nproc-per-node") { i++; continue; }
            if (tokens[i].StartsWith("--nproc-per-node=", StringComparison.Ordinal)) continue;
            args.Add(tokens[i]);
        }
        return args;
    }

    public static int Run(string? configName, bool resuming, string? resumeDir, IReadOnlyList<string> overrides, TextWriter output, bool force = false,
        string? distBackend = null)
    {
        // A worker of a data-parallel job (torchrun, srun, --nproc-per-node) takes its place in it; the others print nothing but errors.
        var env = DistributedEnvironment.Detect();
        if (env is not null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("LLMTRAIN_THREADS")))
            torch.set_num_threads(Math.Max(1, Environment.ProcessorCount / env.LocalWorldSize));
        bool master = env?.IsMaster ?? true;
        using var progress = master ? ConsoleProgress.Create(output) : ConsoleProgress.Create(TextWriter.Null);
        using var rendezvous = env is null ? null : Rendezvous.Connect(env, DistributedContext.TimeoutFromEnvironment());
        RunDirectory? run = null;
        RunLock? runLock = null;
        try
        {
            if (resuming)
            {
                var path = Share(rendezvous, "resume", () =>
                {
                    var found = resumeDir is { Length: > 0 } ? RunDirectory.Open(resumeDir) : RunDirectory.FindNewest()
                        ?? throw new LlmTrainerException("--resume: there is no run under runs/ to resume; start one with 'llmtrain train'.");
                    runLock = RunLock.Acquire(found.Path);
                    return found.Path;
                });
                run = master ? RunDirectory.Open(path) : RunDirectory.OfMaster(path);
                if (configName is not null)
                    throw new LlmTrainerException("--resume uses the run's own config.json; drop --config (override single keys with --key value).");
                configName = run.ConfigPath;
            }

            var loaded = ConfigLoader.Load(overrides, new ConfigLoadOptions { Config = configName });
            // A resumed run's weights are in its checkpoint; a new one with init_from takes the checkpoint's shape.
            if (resuming && loaded.KeySources.TryGetValue("init_from", out var initSource) && initSource != loaded.Origin)
                throw new LlmTrainerException($"init_from ({initSource}) starts a new run; --resume continues {run!.Path} from its own checkpoint. Drop one of them.");
            var requested = resuming ? loaded.Config with { InitFrom = "" } : Interop.InitFrom.Apply(loaded, shapeFromDefaults: configName is null);
            var caps = RuntimeCapabilities.Detect();
            using var data = OpenData(requested, rendezvous, progress);
            var cfg = requested.Resolve(caps, data.Tokenizer.VocabSize);
            if (env is not null) cfg = BindDevice(cfg, env, caps);
            if (!force)
            {
                var device = Device.Parse(cfg.Device);
                MemoryEstimate.For(cfg).Check(MemoryEstimate.Available(device), device.IsCuda ? $"GPU {cfg.Device}" : "this machine");
            }
            if (run is null)
            {
                // Absolute data paths: sample, eval and resume then work from any directory.
                cfg = cfg with { Data = cfg.Data.WithFullPaths(), Stages = cfg.Stages.WithFullPaths() };
                var resolved = cfg;
                var path = Share(rendezvous, "run", () =>
                {
                    var created = RunDirectory.Create(resolved);
                    run = created;
                    runLock = RunLock.Acquire(created.Path);
                    File.WriteAllText(created.ConfigPath, ConfigJson.Render(resolved));
                    File.Copy(data.TokenizerPath, created.TokenizerPathFor(data.Tokenizer), overwrite: true);
                    return created.Path;
                });
                run ??= RunDirectory.OfMaster(path);
            }
            using var dist = rendezvous is null ? null
                : DistributedContext.Join(rendezvous, distBackend is { } b ? (b == "nccl" ? torch.distributed.Backend.Nccl : torch.distributed.Backend.Gloo)
                    : Device.Parse(cfg.Device).IsCuda ? torch.distributed.Backend.Nccl : torch.distributed.Backend.Gloo);

            progress.Info($"run         {run.Path}");
            progress.Info($"config      {loaded.Origin}");
            if (cfg.InitFrom.Length > 0) progress.Info($"weights     from {cfg.InitFrom}");
            // Rank 0 alone writes into the run directory, so only it redraws the plot.
            var lossPlot = master ? new Plotting.LossPlotRefresher(run.Path, progress) : null;
            using var trainer = new Trainer(cfg, run, data, progress, dist) { AfterEval = lossPlot is null ? null : lossPlot.Refresh };
            // The count is the built model's own; LlamaConfig (which the FLOP estimate uses) is tested to agree with it.
            var experts = cfg.IsMoe ? $", {cfg.NExperts} experts (top {cfg.ExpertsPerToken})" : "";
            progress.Info($"model       {ParameterText.Format(trainer.Model.num_parameters(), cfg.ToModelConfig().ActiveParameters)}: d_model {cfg.DModel}, " +
                          $"{cfg.NLayer} layers, {cfg.NHead} heads ({cfg.NKvHead} kv), ffn {cfg.FfnHidden}{experts}, vocab {cfg.VocabSize}, context {cfg.BlockSize}");
            progress.Info($"data        {string.Join(", ", data.Directories)} ({data.TrainTokens:N0} train tokens)");
            var ranks = dist is null ? "" : $" × {dist.WorldSize} ranks";
            progress.Info($"tokens/iter {cfg.TokensPerStep * trainer.WorldSize:N0} = batch {cfg.BatchSize} × block {cfg.BlockSize} × accum {cfg.GradAccumSteps}{ranks}");
            if (dist is not null)
                progress.Info($"distributed {dist.WorldSize} ranks ({dist.Environment.Launcher}, {dist.Backend.ToString().ToLowerInvariant()}), " +
                              $"{dist.Environment.LocalWorldSize} on this machine, rendezvous {dist.Environment.MasterAddr}:{dist.Environment.MasterPort}");
            progress.Info($"device      {cfg.Device}, {cfg.Dtype}, {torch.get_num_threads()} threads");
            progress.Info($"schedule    lr {cfg.LearningRate:G3} → {cfg.MinLr:G3}, warmup {cfg.WarmupIters}, decay to {cfg.LrDecayIters}, " +
                          $"cool-down {cfg.CooldownIters}, {cfg.MaxIters} iters");

            if (resuming)
            {
                var latest = run.Checkpoints.Find(Checkpoints.CheckpointStore.Latest)
                    ?? throw new LlmTrainerException($"{run.Path} has no checkpoints/latest to resume from.");
                trainer.Resume(latest);
            }

            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                if (stop.IsCancellationRequested) return; // a second Ctrl+C kills the process
                e.Cancel = true;
                progress.Info("stopping after this step and saving a checkpoint (Ctrl+C again to abort)...");
                stop.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            try
            {
                var result = trainer.Run(stop.Token);
                progress.Dispose(); // ends a live display before the closing lines
                if (!master) return result.Interrupted ? InterruptedExitCode : 0;
                if (result.Interrupted)
                {
                    output.WriteLine($"saved at step {result.Step}. Resume with: llmtrain train --resume {run.Path}");
                    return InterruptedExitCode;
                }
                output.WriteLine($"val loss {result.FirstValLoss:F4} → {result.LastValLoss:F4} (best {result.BestValLoss:F4}). " +
                                 $"Sample with: llmtrain sample --checkpoint {Path.Combine(run.CheckpointsPath, "best")}");
                return 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
        catch (Exception e)
        {
            rendezvous?.Abort(e);
            if (master) run?.RemoveIfUnused(); // a run that failed before its first checkpoint leaves no directory behind
            throw;
        }
        finally
        {
            runLock?.Dispose();
        }
    }

    /// <summary>How to start this program again: its apphost, or <c>dotnet llmtrain.dll</c> when it was started that way.</summary>
    private static (string, IReadOnlyList<string>) SelfCommand()
    {
        var exe = Environment.ProcessPath ?? throw new LlmTrainerException("--nproc-per-node: cannot tell which program to start for the workers.");
        var dll = typeof(TrainCommand).Assembly.Location;
        bool viaHost = Path.GetFileNameWithoutExtension(exe) == "dotnet";
        return viaHost ? (exe, [dll]) : (exe, []);
    }

    /// <summary>Rank 0's value for every rank (see <see cref="Rendezvous.ShareFromMaster"/>); a single process just computes it.</summary>
    private static string Share(Rendezvous? rendezvous, string key, Func<string> onMaster) =>
        rendezvous is null ? onMaster() : rendezvous.ShareFromMaster(key, onMaster);

    /// <summary>Opens the training data; in a job, rank 0 first (the built-in stories are prepared once, by it), then the others.</summary>
    private static TrainingData OpenData(TrainConfig config, Rendezvous? rendezvous, IProgressReporter progress)
    {
        if (rendezvous is null || !rendezvous.Environment.IsMaster)
        {
            if (rendezvous is not null) rendezvous.ShareFromMaster("data", () => "ready");
            return TrainingData.Open(config, progress);
        }
        TrainingData? data = null;
        rendezvous.ShareFromMaster("data", () =>
        {
            data = TrainingData.Open(config, progress);
            return "ready";
        });
        return data!;
    }

    /// <summary>Each rank of a job on CUDA trains on the GPU of its local rank, as under torchrun.</summary>
    private static TrainConfig BindDevice(TrainConfig cfg, DistributedEnvironment env, RuntimeCapabilities caps)
    {
        if (!cfg.Device.StartsWith("cuda", StringComparison.Ordinal)) return cfg;
        if (env.LocalRank >= caps.CudaDeviceCount)
            throw new LlmTrainerException(
                $"local rank {env.LocalRank} needs GPU cuda:{env.LocalRank}, but this machine has {caps.CudaDeviceCount}; start at most {caps.CudaDeviceCount} workers per machine.");
        return cfg with { Device = $"cuda:{env.LocalRank}" };
    }
}
