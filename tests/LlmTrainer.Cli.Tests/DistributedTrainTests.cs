using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Json;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

/// <summary>
/// Data-parallel training on the CPU with Gloo, as real processes: started by <c>--nproc-per-node</c>, or by hand with
/// torchrun's or Slurm's environment as those launchers set it.
/// </summary>
public sealed class DistributedTrainTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "llmtrain-cli-ddp-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string data;

    public DistributedTrainTests()
    {
        Directory.CreateDirectory(root);
        var text = Path.Combine(root, "stories.txt");
        new SyntheticStories(5).WriteText(text, 400);
        data = Path.Combine(root, "data");
        new PrepareJob(new PrepareOptions([text], data, VocabSize: 300, ValFraction: 0.05)).Run();
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>A small model whose schedule does not depend on max_iters, so runs of different lengths agree step for step.</summary>
    private string[] Args(string outDir, int maxIters, int batch, int accum = 1, int evalInterval = 10) =>
    [
        "train", "--data", data, "--out_dir", outDir, "--max_iters", maxIters.ToString(), "--batch_size", batch.ToString(),
        "--grad_accum_steps", accum.ToString(), "--block_size", "32", "--d_model", "32", "--n_layer", "2", "--n_head", "4",
        "--warmup_iters", "2", "--lr_decay_iters", "1000", "--eval_interval", evalInterval.ToString(), "--eval_iters", "4", "--log_interval", "1",
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts llmtrain with extra environment variables; SIGINT is put back to its default for the child (a shell that
    /// starts tests in the background makes children ignore it).
    /// </summary>
    private sealed class Run : IDisposable
    {
        private readonly StringBuilder output = new();
        private readonly StringBuilder errors = new();

        public Run(string workDir, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
        {
            var psi = new ProcessStartInfo("env") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("--default-signal=INT");
            psi.ArgumentList.Add("dotnet");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "llmtrain.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
            Process = Process.Start(psi)!;
            Process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (output) output.AppendLine(e.Data);
            };
            Process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null) lock (errors) errors.AppendLine(e.Data);
            };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public string Stdout { get { lock (output) return output.ToString(); } }

        public string Seen => $"stdout:\n{Stdout}\nstderr:\n{Stderr}";

        public string Stderr { get { lock (errors) return errors.ToString(); } }

        public void WaitFor(string text, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (!Stdout.Contains(text, StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < timeout && !Process.HasExited, $"did not see '{text}': {Seen}");
                Thread.Sleep(50);
            }
        }

        public int Exit(TimeSpan timeout)
        {
            Assert.True(Process.WaitForExit(timeout), $"llmtrain did not exit within {timeout}: {Seen}");
            Process.WaitForExit(); // the output is complete
            return Process.ExitCode;
        }

        public void Dispose()
        {
            try
            {
                if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            Process.Dispose();
        }
    }

    private static List<(long Step, double Loss)> TrainLosses(string run) => Records(run, "train").Select(r => (r.Step, r.Json.GetProperty("loss").GetDouble())).ToList();

    private static List<(long Step, JsonElement Json)> Records(string run, string kind) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("event").GetString() == kind)
            .Select(e => (e.GetProperty("step").GetInt64(), e))
            .ToList();

    private static Dictionary<string, float[]> Weights(string run)
    {
        using var file = SafetensorsFile.Open(Path.Combine(run, "checkpoints", "latest", CheckpointStore.ModelFileName));
        return file.Tensors.ToDictionary(t => t.Name, t => MemoryMarshal.Cast<byte, float>(file.GetBytes(t)).ToArray());
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: {actual} vs {expected} (tolerance {tolerance})");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Two_ranks_of_batch_4_train_exactly_as_one_process_of_batch_8(int accum)
    {
        var single = Path.Combine(root, "single");
        var (code, stdout, stderr) = CliRunner.Run(Args(single, 20, batch: 8, accum));
        Assert.True(code == 0, stdout + stderr);

        var ddp = Path.Combine(root, "ddp");
        using var run = new Run(root, [.. Args(ddp, 20, batch: 4, accum), "--nproc-per-node", "2"]);
        Assert.True(run.Exit(TimeSpan.FromMinutes(5)) == 0, run.Seen);
        Assert.Contains("2 ranks (--nproc-per-node, gloo)", run.Stdout);
        Assert.Contains($"tokens/iter {8 * 32 * accum:N0} = batch 4 × block 32 × accum {accum} × 2 ranks", run.Stdout);
        Assert.Equal("", run.Stderr.Trim()); // the other rank prints nothing

        var a = TrainLosses(single);
        var b = TrainLosses(ddp);
        Assert.Equal(20, a.Count);
        Assert.Equal(a.Select(x => x.Step), b.Select(x => x.Step));
        for (int i = 0; i < a.Count; i++) AssertClose(a[i].Loss, b[i].Loss, 1e-5, $"loss at step {a[i].Step}");
        var evalA = Records(single, "eval");
        var evalB = Records(ddp, "eval");
        Assert.Equal(evalA.Count, evalB.Count);
        for (int i = 0; i < evalA.Count; i++)
            AssertClose(evalA[i].Json.GetProperty("val_loss").GetDouble(), evalB[i].Json.GetProperty("val_loss").GetDouble(), 1e-5, $"val loss at step {evalA[i].Step}");
        Assert.Equal(Records(single, "train")[^1].Json.GetProperty("tokens").GetInt64(), Records(ddp, "train")[^1].Json.GetProperty("tokens").GetInt64());

        var wa = Weights(single);
        var wb = Weights(ddp);
        Assert.Equal(wa.Keys.Order(), wb.Keys.Order());
        foreach (var (name, values) in wa)
            for (int i = 0; i < values.Length; i++) AssertClose(values[i], wb[name][i], 1e-5, $"{name}[{i}]");
        var state = CheckpointState.Read(Path.Combine(ddp, "checkpoints", "latest"));
        Assert.Equal(2, state.WorldSize);
    }

    [Fact]
    public void Two_ranks_train_a_staged_curriculum_ending_in_tokens_as_one_process()
    {
        var text = Path.Combine(root, "more.txt");
        new SyntheticStories(8).WriteText(text, 200);
        var more = Path.Combine(root, "more");
        new PrepareJob(new PrepareOptions([text], more, TokenizerPath: Path.Combine(data, "tokenizer.json"), ValFraction: 0.1)).Run();
        // 8 rows × 32 tokens a step over both ranks: 1,500 tokens are reached at step 6, counted over the job, not per rank.
        string[] Staged(string outDir, int batch) =>
        [
            .. Args(outDir, 12, batch, evalInterval: 6).Where((_, i) => i is not (1 or 2)),
            "--stages", $$"""[{"until": "1500 tokens", "data": "{{data}}"}, {"data": [{"path": "{{data}}"}, {"path": "{{more}}", "weight": 2}]}]""",
        ];
        var single = Path.Combine(root, "staged-single");
        var (code, stdout, stderr) = CliRunner.Run(Staged(single, 8));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("stage 2/2 from step 6 to the end", stdout);

        var ddp = Path.Combine(root, "staged-ddp");
        using var run = new Run(root, [.. Staged(ddp, 4), "--nproc-per-node", "2"]);
        Assert.True(run.Exit(TimeSpan.FromMinutes(5)) == 0, run.Seen);
        Assert.Contains("stage 2/2 from step 6 to the end", run.Stdout);
        var (a, b) = (TrainLosses(single), TrainLosses(ddp));
        Assert.Equal(12, a.Count);
        for (int i = 0; i < a.Count; i++) AssertClose(a[i].Loss, b[i].Loss, 1e-5, $"loss at step {a[i].Step}");
        var (evalA, evalB) = (Records(single, "eval"), Records(ddp, "eval"));
        Assert.Equal(evalA.Count, evalB.Count);
        foreach (var ((step, x), (_, y)) in evalA.Zip(evalB))
            foreach (var name in new[] { "data", "more" })
                AssertClose(x.GetProperty("source_val_loss").GetProperty(name).GetDouble(), y.GetProperty("source_val_loss").GetProperty(name).GetDouble(), 1e-5, $"{name} val loss at step {step}");
    }

    /// <summary>torchrun's environment, set by hand (rank 0 hosts the store), and Slurm's (the master from the node list).</summary>
    [Theory]
    [InlineData("torchrun")]
    [InlineData("slurm")]
    public void Workers_started_by_torchrun_or_slurm_form_one_job(string launcher)
    {
        int port = FreePort();
        var outDir = Path.Combine(root, launcher);
        var runs = Enumerable.Range(0, 2).Select(rank => new Run(root, Args(outDir, 6, batch: 4), launcher == "torchrun"
            ? new Dictionary<string, string>
            {
                ["RANK"] = $"{rank}", ["WORLD_SIZE"] = "2", ["LOCAL_RANK"] = $"{rank}", ["LOCAL_WORLD_SIZE"] = "2",
                ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = $"{port}", ["TORCHELASTIC_RUN_ID"] = "test",
            }
            : new Dictionary<string, string>
            {
                ["SLURM_PROCID"] = $"{rank}", ["SLURM_NTASKS"] = "2", ["SLURM_LOCALID"] = $"{rank}", ["SLURM_NNODES"] = "1",
                ["SLURM_JOB_NODELIST"] = "localhost", ["MASTER_PORT"] = $"{port}",
            })).ToList();
        try
        {
            Assert.True(runs[0].Exit(TimeSpan.FromMinutes(3)) == 0, runs[0].Seen);
            Assert.True(runs[1].Exit(TimeSpan.FromMinutes(1)) == 0, runs[1].Seen);
            Assert.Contains($"distributed 2 ranks ({(launcher == "torchrun" ? "torchrun" : "slurm")}, gloo)", runs[0].Stdout);
            Assert.Contains("finished at step 6", runs[0].Stdout);
            Assert.Equal("", runs[1].Stdout.Trim() + runs[1].Stderr.Trim());
            Assert.Equal(6, TrainLosses(outDir).Count);
        }
        finally
        {
            runs.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public void A_worker_killed_mid_run_makes_the_other_exit_naming_it()
    {
        int port = FreePort();
        var outDir = Path.Combine(root, "killed");
        Dictionary<string, string> Env(int rank) => new()
        {
            ["RANK"] = $"{rank}", ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = $"{port}",
        };
        using var rank0 = new Run(root, Args(outDir, 100_000, batch: 4), Env(0));
        using var rank1 = new Run(root, Args(outDir, 100_000, batch: 4), Env(1));
        rank0.WaitFor("step 3/", TimeSpan.FromMinutes(2));
        rank1.Process.Kill(); // SIGKILL
        var clock = Stopwatch.StartNew();
        int code = rank0.Exit(TimeSpan.FromSeconds(60));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.True(code != 0, rank0.Seen);
        Assert.Contains("rank 1 of 2 stopped", rank0.Stderr);
        Assert.StartsWith("[rank 0] error:", rank0.Stderr.Trim());
    }

    [Fact]
    public void Ctrl_c_to_the_launcher_stops_every_rank_with_one_checkpoint_and_resume_is_bit_identical()
    {
        var outDir = Path.Combine(root, "interrupted");
        int stopped;
        using (var run = new Run(root, [.. Args(outDir, 100_000, batch: 4, evalInterval: 1000), "--nproc-per-node", "2"]))
        {
            run.WaitFor("step 4/", TimeSpan.FromMinutes(2));
            Process.Start("kill", ["-INT", run.Process.Id.ToString()])!.WaitForExit();
            Assert.True(run.Exit(TimeSpan.FromMinutes(3)) == 130, run.Seen);
            Assert.Contains("Resume with: llmtrain train --resume", run.Stdout);
            // One checkpoint, written by rank 0 alone, at the step every rank stopped after.
            var checkpoints = Directory.GetFileSystemEntries(Path.Combine(outDir, "checkpoints")).Select(Path.GetFileName).ToList();
            Assert.Equal(["latest"], checkpoints);
            Assert.Single(Regex.Matches(run.Stdout, "saved at step"));
            stopped = (int)CheckpointState.Read(Path.Combine(outDir, "checkpoints", "latest")).Step;
            Assert.True(stopped >= 4, run.Seen);
        }

        int end = stopped + 3;
        using (var resumed = new Run(root, ["train", "--resume", outDir, "--max_iters", end.ToString(), "--nproc-per-node", "2"]))
        {
            Assert.True(resumed.Exit(TimeSpan.FromMinutes(3)) == 0, resumed.Seen);
            Assert.Contains($"resumed from", resumed.Stdout);
            Assert.DoesNotContain("no longer bit-identical", resumed.Stdout + resumed.Stderr);
        }
        var straight = Path.Combine(root, "straight");
        using (var run = new Run(root, [.. Args(straight, end, batch: 4, evalInterval: 1000), "--nproc-per-node", "2"]))
            Assert.True(run.Exit(TimeSpan.FromMinutes(3)) == 0, run.Seen);

        var a = TrainLosses(straight);
        var b = TrainLosses(outDir);
        Assert.Equal(a.Select(x => x.Step), b.Select(x => x.Step));
        Assert.Equal(a.Select(x => x.Loss), b.Select(x => x.Loss)); // bit for bit
        var wa = Weights(straight);
        var wb = Weights(outDir);
        foreach (var (name, values) in wa) Assert.Equal(values, wb[name]);
    }

    /// <summary>Slurm stops a job with SIGTERM, possibly to one task first: every rank stops after the same step.</summary>
    [Fact]
    public void Sigterm_to_one_worker_stops_every_rank_after_the_same_step()
    {
        int port = FreePort();
        var outDir = Path.Combine(root, "sigterm");
        Dictionary<string, string> Env(int rank) => new()
        {
            ["RANK"] = $"{rank}", ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = $"{port}",
        };
        using var rank0 = new Run(root, Args(outDir, 100_000, batch: 4, evalInterval: 1000), Env(0));
        using var rank1 = new Run(root, Args(outDir, 100_000, batch: 4, evalInterval: 1000), Env(1));
        rank0.WaitFor("step 3/", TimeSpan.FromMinutes(2));
        Process.Start("kill", ["-TERM", rank1.Process.Id.ToString()])!.WaitForExit();
        Assert.True(rank0.Exit(TimeSpan.FromMinutes(2)) == 130, rank0.Seen);
        Assert.True(rank1.Exit(TimeSpan.FromMinutes(1)) == 130, rank1.Seen);
        var state = CheckpointState.Read(Path.Combine(outDir, "checkpoints", "latest"));
        Assert.Contains($"saved at step {state.Step}", rank0.Stdout);
        Assert.Equal(state.Step, TrainLosses(outDir)[^1].Step);
        Assert.Equal("", rank1.Stdout.Trim() + rank1.Stderr.Trim());
    }

    [Fact]
    public void Resuming_with_another_world_size_continues_from_the_same_tokens_and_says_it_is_not_bit_identical()
    {
        var outDir = Path.Combine(root, "regrow");
        using (var run = new Run(root, [.. Args(outDir, 4, batch: 4), "--nproc-per-node", "2"]))
            Assert.True(run.Exit(TimeSpan.FromMinutes(3)) == 0, run.Seen);
        var (code, stdout, stderr) = CliRunner.Run(["train", "--resume", outDir, "--max_iters", "6"]);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("saved by 2 process(es) and this run has 1", stdout + stderr);
        var tokens = Records(outDir, "train").Select(r => r.Json.GetProperty("tokens").GetInt64()).ToList();
        Assert.Equal(4 * 2 * 4 * 32, tokens[3]); // 4 steps of 2 ranks × batch 4 × block 32
        Assert.Equal(tokens[3] + 2 * 4 * 32, tokens[5]); // then 2 steps of one process
    }

    [Fact]
    public void Bad_launch_options_are_refused_with_the_fix()
    {
        var (code, _, stderr) = CliRunner.Run(["train", "--data", data, "--dist-backend", "mpi"]);
        Assert.Equal(1, code);
        Assert.Contains("--dist-backend 'mpi'", stderr);
        Assert.Contains("nccl", stderr);

        (code, _, stderr) = CliRunner.Run(["train", "--data", data, "--nproc-per-node", "0"]);
        Assert.Equal(1, code);
        Assert.Contains("--nproc-per-node 0", stderr);
    }

    [Fact]
    public void The_launcher_passes_its_arguments_on_without_nproc_per_node()
    {
        Assert.Equal(["train", "--config", "15m", "--max_iters", "5"],
            Commands.TrainCommand.LauncherArguments(["--nproc-per-node", "4", "--config", "15m", "--max_iters", "5"]));
        Assert.Equal(["train", "--resume", "runs/x"], Commands.TrainCommand.LauncherArguments(["--resume", "runs/x", "--nproc-per-node=2"]));
    }
}
