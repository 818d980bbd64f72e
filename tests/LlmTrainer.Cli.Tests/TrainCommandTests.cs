using System.Diagnostics;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

public sealed class TrainCommandTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "llmtrain-cli-train-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string data;

    public TrainCommandTests()
    {
        Directory.CreateDirectory(root);
        var text = Path.Combine(root, "stories.txt");
        new SyntheticStories(3).WriteText(text, 400);
        data = Path.Combine(root, "data");
        new PrepareJob(new PrepareOptions([text], data, VocabSize: 300, ValFraction: 0.05)).Run();
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string[] Args(string outDir, int maxIters) =>
    [
        "train", "--data", data, "--out_dir", outDir, "--max_iters", maxIters.ToString(), "--batch_size", "4", "--block_size", "32",
        "--d_model", "32", "--n_layer", "2", "--n_head", "4", "--warmup_iters", "2", "--eval_interval", "1000", "--eval_iters", "1",
        "--log_interval", "1",
    ];

    private static Process Start(string workDir, IEnumerable<string> args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "llmtrain.dll");
        // A shell that starts the test run in the background makes its children ignore SIGINT, and that disposition is
        // inherited: coreutils' env puts the default back so llmtrain sees the SIGINT this test sends, as at a terminal.
        var psi = new ProcessStartInfo("env") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--default-signal=INT");
        psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task Sigint_saves_a_checkpoint_that_resumes()
    {
        var run = Path.Combine(root, "run");
        using var p = Start(root, Args(run, 100_000));
        using var killOnFailure = new ProcessKiller(p); // a failed assertion must not leave a 100,000-step run behind
        var output = new System.Text.StringBuilder();
        var sawStep = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.StartsWith("step 3/", StringComparison.Ordinal)) sawStep.Set();
        };
        var errors = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (errors) errors.AppendLine(e.Data);
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string Seen()
        {
            lock (output) lock (errors) return $"stdout:\n{output}\nstderr:\n{errors}";
        }
        Assert.True(sawStep.Wait(TimeSpan.FromMinutes(2)), "training did not reach step 3: " + Seen());
        Process.Start("kill", ["-INT", p.Id.ToString()])!.WaitForExit();
        // Generous: saving ends with fsync, which can take long on a busy disk.
        Assert.True(p.WaitForExit(300_000), "llmtrain did not exit after SIGINT: " + Seen());
        p.WaitForExit();
        Assert.True(p.ExitCode == 130, $"exit code {p.ExitCode}, not 130: " + Seen());
        Assert.Contains("Resume with: llmtrain train --resume", Seen());
        var state = LlmTrainer.Checkpoints.CheckpointState.Read(Path.Combine(run, "checkpoints", "latest"));
        Assert.True(state.Step >= 3, $"saved at step {state.Step}: " + Seen());

        // Resume to a few steps past the interruption, in a process of its own as a user would: it continues from the
        // saved step.
        using var resumed = Start(root, ["train", "--resume", run, "--max_iters", (state.Step + 2).ToString()]);
        var stdout = resumed.StandardOutput.ReadToEndAsync();
        var stderr = resumed.StandardError.ReadToEndAsync();
        Assert.True(resumed.WaitForExit(300_000), "the resumed run did not finish");
        resumed.WaitForExit();
        var resumedText = await stdout + await stderr;
        Assert.True(resumed.ExitCode == 0, resumedText);
        Assert.Contains("resumed from", resumedText);
        Assert.Contains($"step {state.Step + 2}/{state.Step + 2}", resumedText);
    }

    [Fact]
    public void A_bad_key_is_an_error_that_names_it_and_suggests_the_fix()
    {
        var (code, _, stderr) = CliRunner.Run(["train", "--data", data, "--max_itres", "5"]);
        Assert.Equal(1, code);
        Assert.Contains("max_itres", stderr);
        Assert.Contains("max_iters", stderr);
    }

    /// <summary>
    /// bfloat16 on the CPU: with libtorch 2.x a run trains under autocast (parameters and checkpoints stay float32, the
    /// loss falls); with libtorch 1.x it is refused before anything starts, naming the key and the fix.
    /// </summary>
    [Fact]
    public void Bfloat16_on_the_cpu_trains_under_autocast_on_libtorch_2_and_is_refused_on_1()
    {
        var run = Path.Combine(root, "bf16");
        var (code, stdout, stderr) = CliRunner.Run([.. Args(run, 30), "--device", "cpu", "--dtype", "bfloat16", "--learning_rate", "1e-2"]);
        if (!LlmTrainer.Torch.torch.cpu.supports_bfloat16_autocast())
        {
            Assert.Equal(1, code);
            Assert.Contains("dtype", stderr);
            Assert.Contains("libtorch 2.x", stderr);
            Assert.Contains("--dtype float32", stderr);
            Assert.False(File.Exists(Path.Combine(run, "checkpoints", "latest", "state.json")));
            return;
        }
        Assert.True(code == 0, stdout + stderr);
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement;
        Assert.Equal("bfloat16", config.GetProperty("dtype").GetString());
        var losses = File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("loss", out _))
            .Select(e => e.GetProperty("loss").GetDouble()).ToList();
        Assert.True(losses.Count >= 20, $"expected a loss per step, got {losses.Count}");
        Assert.True(losses.Skip(losses.Count - 5).Average() < losses.Take(5).Average() - 0.3,
                    $"bf16 loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
        using var model = LlmTrainer.Checkpoints.SafetensorsFile.Open(Path.Combine(run, "checkpoints", "latest", "model.safetensors"));
        Assert.All(model.Tensors, t => Assert.Equal(LlmTrainer.Checkpoints.SafetensorsDtype.F32, t.Dtype));
    }

    [Fact]
    public void Out_dir_of_an_existing_run_a_foreign_directory_or_a_file_is_refused_and_left_alone()
    {
        var run = Path.Combine(root, "existing");
        var (code, stdout, stderr) = CliRunner.Run(Args(run, 2));
        Assert.True(code == 0, stdout + stderr);
        var config = Path.Combine(run, "config.json");
        var written = File.GetLastWriteTimeUtc(config);
        var metrics = File.ReadAllText(Path.Combine(run, "metrics.jsonl"));

        (code, _, stderr) = CliRunner.Run(Args(run, 3));
        Assert.Equal(1, code);
        Assert.Contains("already holds a run", stderr);
        Assert.Contains($"llmtrain train --resume {run}", stderr);
        Assert.Equal(written, File.GetLastWriteTimeUtc(config));
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(run, "metrics.jsonl")));

        var foreign = Path.Combine(root, "mine");
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "my notes");
        (code, _, stderr) = CliRunner.Run(Args(foreign, 2));
        Assert.Equal(1, code);
        Assert.Contains("is not empty", stderr);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(foreign).Select(Path.GetFileName));

        var file = Path.Combine(root, "a-file");
        File.WriteAllText(file, "x");
        (code, _, stderr) = CliRunner.Run(Args(file, 2));
        Assert.Equal(1, code);
        Assert.Contains("is a file", stderr);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void A_run_being_trained_is_locked_naming_the_holder_and_a_stale_lock_does_not_block()
    {
        var run = Path.Combine(root, "locked");
        Assert.Equal(0, CliRunner.Run(Args(run, 2)).ExitCode);
        using (LlmTrainer.Training.RunLock.Acquire(run))
        {
            var (code, _, stderr) = CliRunner.Run(["train", "--resume", run, "--max_iters", "3"]);
            Assert.Equal(1, code);
            Assert.Contains("is being trained by another llmtrain process", stderr);
            Assert.Contains($"PID {Environment.ProcessId}", stderr);
        }
        // What a process killed with -9 leaves: the files, but no lock held on them.
        File.WriteAllText(Path.Combine(run, LlmTrainer.Training.RunLock.PidFileName), "999999");
        var resumed = CliRunner.Run(["train", "--resume", run, "--max_iters", "3"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stdout + resumed.Stderr);
        Assert.False(File.Exists(Path.Combine(run, LlmTrainer.Training.RunLock.PidFileName)));
    }

    [Fact]
    public void A_run_that_cannot_allocate_its_model_fails_in_one_line_and_leaves_no_directory()
    {
        var run = Path.Combine(root, "huge");
        // 3 million × 65,536 float32 embedding weights: 786 GB, refused by the allocator at once (--force skips the
        // memory estimate, which would refuse it earlier).
        var (code, stdout, stderr) = CliRunner.Run([.. Args(run, 2), "--vocab_size", "3000000", "--d_model", "65536", "--n_head", "1", "--n_layer", "1", "--force"]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: out of memory", stderr);
        Assert.Contains("smaller batch_size", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout); // no stack trace
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void A_run_whose_memory_estimate_exceeds_the_machine_is_refused_with_the_numbers()
    {
        var run = Path.Combine(root, "forty-billion");
        // About 39 billion parameters: 580 GiB of weights, gradients and AdamW state before any activation.
        var (code, stdout, stderr) = CliRunner.Run([.. Args(run, 2), "--vocab_size", "32000", "--d_model", "8192", "--n_layer", "48", "--n_head", "64"]);
        Assert.Equal(1, code);
        Assert.Contains("this run needs at least", stderr);
        Assert.Contains("available", stderr);
        Assert.Contains("--force", stderr);
        Assert.DoesNotContain("model ", stdout); // refused before the model was built
        Assert.False(Directory.Exists(run));
    }

    /// <summary>Kills the process (and its children) when disposed, unless it has exited.</summary>
    private sealed class ProcessKiller(Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited in between
            }
        }
    }
}
