using System.Text.Json;
using LlmTrainer.Checkpoints;

namespace LlmTrainer.Tests.Checkpoints;

public sealed class CheckpointStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointStore Store => new(_dir.Combine("checkpoints"));

    private static CheckpointState State(long step) => new()
    {
        Step = step,
        TokensSeen = step * 4096,
        ConfigHash = "abc123",
        DataCursor = JsonSerializer.SerializeToElement(new { position = step * 7, epoch = 1 }),
        RngStates = new Dictionary<string, byte[]> { ["cpu"] = [1, 2, 3, (byte)step], ["data"] = [] },
        BestValLoss = 2.5 - step / 1000.0,
    };

    private static void WriteModel(string directory, byte marker) =>
        SafetensorsWriter.WriteFile(Path.Combine(directory, CheckpointStore.ModelFileName),
            [SafetensorsEntry.FromBytes("w", SafetensorsDtype.U8, [1], new[] { marker })]);

    private static byte ModelMarker(string directory)
    {
        using var file = SafetensorsFile.Open(Path.Combine(directory, CheckpointStore.ModelFileName));
        return file.GetBytes("w")[0];
    }

    [Fact]
    public void Save_writes_files_and_state_and_replaces_the_previous_checkpoint()
    {
        var store = Store;
        Assert.Null(store.Find(CheckpointStore.Latest));
        var path = store.Save(CheckpointStore.Latest, State(100), dir => WriteModel(dir, 1));
        Assert.Equal(_dir.Combine("checkpoints", "latest"), path);
        store.Save(CheckpointStore.Latest, State(200), dir => WriteModel(dir, 2));

        Assert.Equal(path, store.Find(CheckpointStore.Latest));
        Assert.Equal(2, ModelMarker(path));
        var state = CheckpointState.Read(store.Find(CheckpointStore.Latest)!);
        Assert.Equal(200, state.Step);
        Assert.Equal(200 * 4096, state.TokensSeen);
        Assert.Equal(1400, state.DataCursor!.Value.GetProperty("position").GetInt64());
        Assert.Equal(new byte[] { 1, 2, 3, 200 }, state.RngStates["cpu"]);
        Assert.Empty(state.RngStates["data"]);
        Assert.Equal(2.3, state.BestValLoss);
        Assert.Equal(CheckpointState.CurrentVersion, state.Version);
        Assert.Equal(["latest"], Directory.GetDirectories(store.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public void State_records_each_file_hash_and_a_flipped_byte_is_named_on_verification()
    {
        var path = Store.Save(CheckpointStore.Latest, State(1), dir => WriteModel(dir, 7));
        var state = CheckpointState.Read(path);
        var model = Path.Combine(path, CheckpointStore.ModelFileName);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(model))),
                     state.FileHashes[CheckpointStore.ModelFileName]);
        state.VerifyFile(path, CheckpointStore.ModelFileName); // intact: no exception

        var bytes = File.ReadAllBytes(model);
        bytes[^1] ^= 0x01; // one bit of the tensor data
        File.WriteAllBytes(model, bytes);
        var e = Assert.Throws<LlmTrainerException>(() => state.VerifyFile(path, CheckpointStore.ModelFileName));
        Assert.Contains(model, e.Message);
        Assert.Contains("is damaged", e.Message);
        Assert.Contains(CheckpointState.VerifyVariable + "=0", e.Message);

        File.Delete(model);
        var missing = Assert.Throws<LlmTrainerException>(() => state.VerifyFile(path, CheckpointStore.ModelFileName));
        Assert.Contains("is missing model.safetensors", missing.Message);
    }

    [Fact]
    public void Slots_are_independent()
    {
        var store = Store;
        store.Save(CheckpointStore.Latest, State(10), dir => WriteModel(dir, 10));
        store.Save(CheckpointStore.Best, State(5), dir => WriteModel(dir, 5));
        Assert.Equal(10, ModelMarker(store.Find(CheckpointStore.Latest)!));
        Assert.Equal(5, ModelMarker(store.Find(CheckpointStore.Best)!));
    }

    [Fact]
    public void A_failing_write_leaves_the_previous_checkpoint_and_no_temporary()
    {
        var store = Store;
        store.Save(CheckpointStore.Latest, State(1), dir => WriteModel(dir, 1));
        Assert.Throws<IOException>(() => store.Save(CheckpointStore.Latest, State(2), dir =>
        {
            WriteModel(dir, 2);
            throw new IOException("disk full");
        }));
        Assert.Equal(1, ModelMarker(store.Find(CheckpointStore.Latest)!));
        Assert.Equal(["latest"], Directory.GetDirectories(store.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public void Crash_between_the_two_renames_recovers_the_old_checkpoint()
    {
        var store = Store;
        var latest = store.Save(CheckpointStore.Latest, State(1), dir => WriteModel(dir, 1));
        // The state a crash leaves after "latest" was renamed away and before the new one was renamed in.
        Directory.Move(latest, latest + ".old");
        Directory.CreateDirectory(latest + ".tmp-0badf00d");

        Assert.Equal(latest + ".old", store.Find(CheckpointStore.Latest));
        Assert.Equal(1, CheckpointState.Read(store.Find(CheckpointStore.Latest)!).Step);

        store.Save(CheckpointStore.Latest, State(2), dir => WriteModel(dir, 2));
        Assert.Equal(latest, store.Find(CheckpointStore.Latest));
        Assert.Equal(2, ModelMarker(latest));
        Assert.Equal(["latest"], Directory.GetDirectories(store.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public void Crash_before_the_old_checkpoint_was_deleted_prefers_the_new_one()
    {
        var store = Store;
        var latest = store.Save(CheckpointStore.Latest, State(1), dir => WriteModel(dir, 1));
        CopyDirectory(latest, latest + ".old");
        store.Save(CheckpointStore.Latest, State(3), dir => WriteModel(dir, 3));
        Assert.Equal(latest, store.Find(CheckpointStore.Latest));
        Assert.Equal(3, CheckpointState.Read(store.Find(CheckpointStore.Latest)!).Step);
        Assert.False(Directory.Exists(latest + ".old"));
    }

    [Fact]
    public void Slot_names_cannot_escape_the_directory()
    {
        Assert.Throws<ArgumentException>(() => Store.Find("../x"));
        Assert.Throws<ArgumentException>(() => Store.Save("latest.old", State(1), _ => { }));
    }

    [Fact]
    public void Missing_or_corrupt_state_is_reported_with_the_path()
    {
        var dir = Directory.CreateDirectory(_dir.Combine("ckpt")).FullName;
        Assert.Contains("has no state.json", Assert.Throws<LlmTrainerException>(() => CheckpointState.Read(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "state.json"), """{ "step": 3 }""");
        Assert.Contains("state.json", Assert.Throws<LlmTrainerException>(() => CheckpointState.Read(dir)).Message);
        File.WriteAllText(Path.Combine(dir, "state.json"), """{ "version": 99, "step": 3, "tokens_seen": 1, "config_hash": "x" }""");
        Assert.Contains("upgrade", Assert.Throws<LlmTrainerException>(() => CheckpointState.Read(dir)).Message);
    }

    [Fact]
    public void State_json_uses_snake_case_and_keeps_a_nan_loss()
    {
        var dir = Directory.CreateDirectory(_dir.Combine("s")).FullName;
        (State(1) with { BestValLoss = double.NaN }).Write(dir);
        var text = File.ReadAllText(Path.Combine(dir, "state.json"));
        Assert.Contains("\"tokens_seen\": 4096", text);
        Assert.Contains("\"rng_states\"", text);
        Assert.Contains("\"cpu\": \"AQIDAQ==\"", text);
        Assert.True(double.IsNaN(CheckpointState.Read(dir).BestValLoss!.Value));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
