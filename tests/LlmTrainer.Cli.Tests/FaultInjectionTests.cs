using System.Diagnostics;
using LlmTrainer.Checkpoints;
using LlmTrainer.Data;

namespace LlmTrainer.Cli.Tests;

/// <summary>A fact that needs root (to mount a small or read-only tmpfs); skipped, saying so, for other users.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root") Skip = "needs root to mount a tmpfs (run the tests as root, as CI does)";
    }
}

/// <summary>
/// Faults a user meets: the disk fills up while a checkpoint is saved, the run directory turns read-only. Each ends
/// in one clear line, and the last checkpoint stays whole and loadable.
/// </summary>
[Collection("mounts")]
public sealed class FaultInjectionTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "llmtrain-faults-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string data;
    private readonly List<string> mounts = [];

    public FaultInjectionTests()
    {
        Directory.CreateDirectory(root);
        var text = Path.Combine(root, "stories.txt");
        new SyntheticStories(5).WriteText(text, 300);
        data = Path.Combine(root, "data");
        new PrepareJob(new PrepareOptions([text], data, VocabSize: 300, ValFraction: 0.05)).Run();
    }

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(mounts)) Shell("umount", "-l", m);
        Directory.Delete(root, recursive: true);
    }

    private string[] Args(string outDir, int maxIters) =>
    [
        "train", "--data", data, "--out_dir", outDir, "--max_iters", maxIters.ToString(), "--batch_size", "2", "--block_size", "16",
        "--d_model", "32", "--n_layer", "1", "--n_head", "2", "--warmup_iters", "1", "--eval_interval", "1000", "--eval_iters", "1",
        "--log_interval", "1", "--checkpoint_interval", "1",
    ];

    private static void Shell(params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(args[0], args[1..]) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 || args[0] == "umount", $"{string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }

    private string Tmpfs(string name, long bytes)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        Shell("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", dir);
        mounts.Add(dir);
        return dir;
    }

    private static long Size(string directory) => new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    [RootFact]
    public void A_full_disk_while_saving_is_one_line_and_the_previous_checkpoint_stays_whole()
    {
        // How much one run takes: the run files and one checkpoint.
        var probe = Path.Combine(root, "probe");
        Assert.Equal(0, CliRunner.Run(Args(probe, 1)).ExitCode);
        long checkpoint = Size(Path.Combine(probe, "checkpoints", "latest"));
        long run = Size(probe);

        // Room for the run and one checkpoint, not for a second written beside it.
        var disk = Tmpfs("small", run + checkpoint / 2 + 64 * 1024);
        var dir = Path.Combine(disk, "run");
        var (code, stdout, stderr) = CliRunner.Run(Args(dir, 5));
        Assert.Equal(1, code);
        Assert.StartsWith("error: the disk is full", stderr);
        Assert.DoesNotContain("   at ", stderr);
        var latest = Path.Combine(dir, "checkpoints", "latest");
        var state = CheckpointState.Read(latest);
        Assert.InRange(state.Step, 1, 4); // whichever save found the disk full, the one before it is whole
        state.VerifyFile(latest, CheckpointStore.ModelFileName);
        state.VerifyFile(latest, CheckpointStore.OptimizerFileName);
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir, "checkpoints"), "*.tmp-*"));
        Assert.True(stdout.Length > 0);
    }

    [RootFact]
    public void A_read_only_run_directory_is_one_line_and_changes_nothing()
    {
        var disk = Tmpfs("ro", 64L << 20);
        var dir = Path.Combine(disk, "run");
        Assert.Equal(0, CliRunner.Run(Args(dir, 2)).ExitCode);
        var before = Size(dir);
        Shell("mount", "-o", "remount,ro", disk);

        var (code, _, stderr) = CliRunner.Run(["train", "--resume", dir, "--max_iters", "4"]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("cannot write in run directory", stderr);
        Assert.Contains("Read-only file system", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal(before, Size(dir));
        Assert.Equal(2, CheckpointState.Read(Path.Combine(dir, "checkpoints", "latest")).Step);
    }

    [Fact]
    public async Task Running_out_of_memory_during_a_run_names_the_step_and_what_to_change()
    {
        var dir = Path.Combine(root, "oom");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "llmtrain.dll"));
        // The weights fit in 2 MiB; a batch's 64 × 64 × 300 logits (4.9 MB) do not.
        foreach (var a in Args(dir, 3)) psi.ArgumentList.Add(a);
        foreach (var a in new[] { "--batch_size", "64", "--block_size", "64", "--force" }) psi.ArgumentList.Add(a);
        psi.Environment["LLMTRAIN_CPU_MEMORY_LIMIT"] = (2 << 20).ToString();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000));
        Assert.Equal(1, p.ExitCode);
        Assert.StartsWith("error: out of memory at step 0 on cpu", stderr);
        Assert.Contains("LLMTRAIN_CPU_MEMORY_LIMIT", stderr);
        Assert.Contains("activation_checkpointing", stderr);
        Assert.DoesNotContain("   at ", stderr + await stdout);
    }

    [Fact]
    public async Task Kill_9_at_random_moments_always_leaves_a_checkpoint_that_loads_and_resumes()
    {
        var dir = Path.Combine(root, "killed");
        var random = new Random(20261130);
        var dll = Path.Combine(AppContext.BaseDirectory, "llmtrain.dll");
        long lastSaved = -1;
        for (int round = 0; round < 6; round++)
        {
            // A checkpoint at every step, so the kill often lands inside a save.
            string[] args = round == 0 ? Args(dir, 100_000) : ["train", "--resume", dir];
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(dll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            // Wait until this process has saved at least once, then kill it a random moment later.
            var started = Stopwatch.StartNew();
            while (SavedStep(dir) <= lastSaved && started.Elapsed < TimeSpan.FromMinutes(2) && !p.HasExited)
                await Task.Delay(10);
            await Task.Delay(random.Next(0, 300));
            p.Kill(); // SIGKILL: no handler runs
            await p.WaitForExitAsync();

            var store = new CheckpointStore(Path.Combine(dir, "checkpoints"));
            var found = store.Find(CheckpointStore.Latest);
            Assert.True(found is not null, $"round {round}: no complete checkpoint after kill -9");
            var state = CheckpointState.Read(found!);
            state.VerifyFile(found!, CheckpointStore.ModelFileName);
            state.VerifyFile(found!, CheckpointStore.OptimizerFileName);
            Assert.True(state.Step > lastSaved, $"round {round}: the run never saved (step {state.Step})");
            lastSaved = state.Step;
            using (var model = SafetensorsFile.Open(Path.Combine(found!, CheckpointStore.ModelFileName)))
                Assert.NotEmpty(model.Tensors);
        }
        // And the run goes on from there.
        var last = CheckpointState.Read(new CheckpointStore(Path.Combine(dir, "checkpoints")).Find(CheckpointStore.Latest)!).Step;
        var (code, stdout, stderr) = CliRunner.Run(["train", "--resume", dir, "--max_iters", (last + 2).ToString()]);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"step {last + 2}/{last + 2}", stdout);
    }

    /// <summary>The step of the run's latest complete checkpoint, or -1 (also while a save is swapping it in).</summary>
    private static long SavedStep(string dir)
    {
        try
        {
            return new CheckpointStore(Path.Combine(dir, "checkpoints")).Find(CheckpointStore.Latest) is { } latest ? CheckpointState.Read(latest).Step : -1;
        }
        catch (Exception e) when (e is IOException or LlmTrainerException)
        {
            return -1;
        }
    }
}
