using System.CommandLine;
using System.Runtime.InteropServices;
using LlmTrainer.Config;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain train [--config NAME|PATH] [--resume [RUN_DIR]] [--key value ...]</c>: the main job.
/// Without arguments it trains the <c>tiny</c> config on the built-in synthetic stories.
/// </summary>
internal static class TrainCommand
{
    public const int InterruptedExitCode = 130;

    public static Command Create()
    {
        var force = new Option<bool>("--force") { Description = "Start even when the run's memory estimate exceeds what the device has" };
        var config = new Option<string?>("--config") { Description = "A config file or a built-in name (tiny, 15m, 42m, 110m, 500m, 1b); default tiny" };
        var resume = new Option<string?>("--resume")
        {
            Description = "Resume a run: its directory, or the newest run under runs/ when no directory is given",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("train", "Pretrain a LLaMA-style model. Any config key can be given as --key value (e.g. --max_iters 200)")
        {
            config, resume, force,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            bool resuming = parse.GetResult(resume) is not null;
            return Run(parse.GetValue(config), resuming, parse.GetValue(resume), parse.UnmatchedTokens, Console.Out, parse.GetValue(force));
        });
        return command;
    }

    public static int Run(string? configName, bool resuming, string? resumeDir, IReadOnlyList<string> overrides, TextWriter output, bool force = false)
    {
        using var progress = ConsoleProgress.Create(output);
        RunDirectory? run = null;
        RunLock? runLock = null;
        try
        {
            if (resuming)
            {
                run = resumeDir is { Length: > 0 } ? RunDirectory.Open(resumeDir) : RunDirectory.FindNewest()
                    ?? throw new LlmTrainerException("--resume: there is no run under runs/ to resume; start one with 'llmtrain train'.");
                runLock = RunLock.Acquire(run.Path);
                if (configName is not null)
                    throw new LlmTrainerException("--resume uses the run's own config.json; drop --config (override single keys with --key value).");
                configName = run.ConfigPath;
            }

            var loaded = ConfigLoader.Load(overrides, new ConfigLoadOptions { Config = configName });
            var caps = RuntimeCapabilities.Detect();
            using var data = TrainingData.Open(loaded.Config.Data, (ulong)loaded.Config.Seed, progress, loaded.Config.SamplingMode);
            var cfg = loaded.Config.Resolve(caps, data.Tokenizer.VocabSize);
            if (!force)
            {
                var device = Device.Parse(cfg.Device);
                MemoryEstimate.For(cfg).Check(MemoryEstimate.Available(device), device.IsCuda ? $"GPU {cfg.Device}" : "this machine");
            }
            if (run is null)
            {
                // Absolute data paths: sample, eval and resume then work from any directory.
                cfg = cfg with { Data = cfg.Data.WithFullPaths() };
                run = RunDirectory.Create(cfg);
                runLock = RunLock.Acquire(run.Path);
                File.WriteAllText(run.ConfigPath, ConfigJson.Render(cfg));
                File.Copy(data.TokenizerPath, run.TokenizerPath, overwrite: true);
            }

            progress.Info($"run         {run.Path}");
            progress.Info($"config      {loaded.Origin}");
            using var trainer = new Trainer(cfg, run, data, progress);
            // The count is the built model's own; ModelShape (which the FLOP estimate uses) is tested to agree with it.
            var experts = cfg.IsMoe ? $", {cfg.NExperts} experts (top {cfg.ExpertsPerToken})" : "";
            progress.Info($"model       {ParameterText.Format(trainer.Model.num_parameters(), ModelShape.From(cfg).ActiveParameters)}: d_model {cfg.DModel}, " +
                          $"{cfg.NLayer} layers, {cfg.NHead} heads ({cfg.NKvHead} kv), ffn {cfg.FfnHidden}{experts}, vocab {cfg.VocabSize}, context {cfg.BlockSize}");
            progress.Info($"data        {string.Join(", ", data.Directories)} ({data.TrainTokens:N0} train tokens)");
            progress.Info($"tokens/iter {cfg.TokensPerStep:N0} = batch {cfg.BatchSize} × block {cfg.BlockSize} × accum {cfg.GradAccumSteps}");
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
        catch
        {
            run?.RemoveIfUnused(); // a run that failed before its first checkpoint leaves no directory behind
            throw;
        }
        finally
        {
            runLock?.Dispose();
        }
    }
}
