using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using LlmTrainer.TensorBoard;
using LlmTrainer.Training;

namespace LlmTrainer.Tests.TensorBoard;

public sealed class EventFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("llmtrain-tfevents-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        // The CRC-32C catalogue's check value: CRC of the ASCII digits 1..9.
        Assert.Equal(0xE3069283u, TfRecord.Crc32C("123456789"u8));
        Assert.Equal(0u, TfRecord.Crc32C([]));
        // 32 zero bytes, from RFC 3720 (iSCSI) B.4.
        Assert.Equal(0x8A9136AAu, TfRecord.Crc32C(new byte[32]));
        // The mask: rotate right by 15, add 0xa282ead8.
        uint crc = TfRecord.Crc32C("123456789"u8);
        Assert.Equal(((crc >> 15) | (crc << 17)) + 0xa282ead8u, TfRecord.MaskedCrc("123456789"u8));
    }

    [Fact]
    public void A_record_is_length_crc_data_crc()
    {
        var data = "hello"u8.ToArray();
        var record = TfRecord.Frame(data);
        Assert.Equal(8 + 4 + 5 + 4, record.Length);
        Assert.Equal(5ul, BinaryPrimitives.ReadUInt64LittleEndian(record));
        Assert.Equal(TfRecord.MaskedCrc(record.AsSpan(0, 8)), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(8)));
        Assert.Equal(data, record[12..17]);
        Assert.Equal(TfRecord.MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(17)));
    }

    [Fact]
    public void The_metrics_log_writes_every_scalar_to_an_event_file_whose_crcs_verify()
    {
        var metricsPath = Path.Combine(dir, MetricsLog.FileName);
        using (var log = new MetricsLog(metricsPath))
        {
            log.Eval(new EvalMetrics(0, 0, ValLoss: 8.3, TrainLoss: 8.31));
            log.Train(new TrainMetrics(10, 3.5, 1e-3, 0.8, 40960, 12345.5, 331.7, Mfu: 0.41, AuxLoss: 0.02, ZLoss: 1.5, DroppedFraction: 0.01));
            log.Train(new TrainMetrics(20, double.NaN, 5e-4, null, 81920, 12000, 340));
            log.Eval(new EvalMetrics(20, 81920, ValLoss: 2.5, TrainLoss: 2.4, BitsPerByte: 1.1, ExpertBalance: 1.3,
                SourceValLoss: new Dictionary<string, double> { ["stories"] = 2.25, ["code"] = 2.75 }));
        }
        var eventsPath = Assert.Single(Directory.GetFiles(dir, "events.out.tfevents.*"));
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(eventsPath));
        Assert.Equal([eventsPath], EventFileWriter.Find(dir));

        var events = EventFileWriter.Read(eventsPath); // checks both CRCs of every record
        Assert.Equal(5, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.True(Math.Abs(events[0].WallTime - DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 600);
        Assert.Equal([0L, 10, 20, 20], events.Skip(1).Select(e => e.Step));

        var train = events[2].Scalars.ToDictionary(s => s.Tag, s => s.Value);
        Assert.Equal(3.5f, train["loss/train"]);
        Assert.Equal(1e-3f, train["lr"]);
        Assert.Equal(0.8f, train["grad_norm"]);
        Assert.Equal(12345.5f, train["throughput/tokens_per_sec"]);
        Assert.Equal(0.41f, train["throughput/mfu"]);
        Assert.Equal(0.02f, train["moe/aux_loss"]);
        Assert.Equal(1.5f, train["moe/z_loss"]);
        Assert.Equal(0.01f, train["moe/dropped_fraction"]);
        var nan = events[3].Scalars.ToDictionary(s => s.Tag, s => s.Value);
        Assert.True(float.IsNaN(nan["loss/train"]));
        Assert.False(nan.ContainsKey("grad_norm"));
        Assert.False(nan.ContainsKey("throughput/mfu"));
        var eval = events[4].Scalars.ToDictionary(s => s.Tag, s => s.Value);
        Assert.Equal(2.5f, eval["loss/val"]);
        Assert.Equal(2.4f, eval["loss/train_eval"]);
        Assert.Equal(1.1f, eval["eval/bits_per_byte"]);
        Assert.Equal(1.3f, eval["moe/expert_balance"]);
        Assert.Equal((float)Math.Exp(2.5), eval["eval/val_ppl"]);
        Assert.Equal(2.25f, eval["loss/val/stories"]);
        Assert.Equal(2.75f, eval["loss/val/code"]);

        PythonReaderAgrees(eventsPath, "loss/val", [8.3, 2.5]);
    }

    [Fact]
    public void A_resumed_log_starts_a_new_event_file_with_a_session_start_after_the_last_step()
    {
        var metricsPath = Path.Combine(dir, MetricsLog.FileName);
        using (var log = new MetricsLog(metricsPath))
            log.Train(new TrainMetrics(10, 3.5, 1e-3, 0.8, 40960, 100, 1));
        var first = Directory.GetFiles(dir, "events.out.tfevents.*");
        using (var log = new MetricsLog(metricsPath))
            log.Train(new TrainMetrics(20, 3.0, 1e-3, 0.8, 81920, 100, 1));
        var second = Assert.Single(Directory.GetFiles(dir, "events.out.tfevents.*").Except(first));
        Assert.Equal(2, EventFileWriter.Find(dir).Count);
        var events = EventFileWriter.Read(second);
        Assert.Equal(EventProto.SessionStart, events[1].SessionStatus);
        Assert.Equal(11, events[1].Step);
        Assert.Equal(20, events[2].Step);
    }

    [Fact]
    public void A_damaged_record_is_named_and_a_torn_last_record_is_dropped()
    {
        var path = Path.Combine(dir, "events.out.tfevents.1.test");
        using (var w = new EventFileWriter(dir))
        {
            w.Scalars(1, [("a", 1.0)]);
            w.Scalars(2, [("a", 2.0)]);
            File.Copy(w.Path, path);
        }
        var bytes = File.ReadAllBytes(path);
        // Cut inside the last record: the records before it still read.
        File.WriteAllBytes(path, bytes[..^3]);
        Assert.Equal(2, EventFileWriter.Read(path).Count);
        // One flipped bit in the data of the second record.
        var damaged = bytes.ToArray();
        damaged[^6] ^= 0x10;
        File.WriteAllBytes(path, damaged);
        var e = Assert.Throws<LlmTrainerException>(() => EventFileWriter.Read(path));
        Assert.Contains("CRC", e.Message);
    }

    [Fact]
    public void Unknown_fields_are_skipped_and_negative_steps_round_trip()
    {
        var bytes = EventProto.Scalars(12.5, -3, [("x", 0.25f)]).Concat(new byte[] { 0x38, 0x07 }).ToArray(); // field 7, varint 7
        var e = EventProto.Decode(bytes);
        Assert.Equal(12.5, e.WallTime);
        Assert.Equal(-3, e.Step);
        Assert.Equal([("x", 0.25f)], e.Scalars);
        Assert.Throws<LlmTrainerException>(() => EventProto.Decode(bytes[..^3]));
    }

    /// <summary>
    /// TensorBoard's own reader, where its Python package is installed (it is not in this project's dependencies): the
    /// fixture script prints the values of a tag, which must be ours. Our decoder's checks above run everywhere.
    /// </summary>
    private static void PythonReaderAgrees(string eventsPath, string tag, double[] expected)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "TensorBoard", "Fixtures", "read_tfevents.py");
        Assert.True(File.Exists(script), script);
        ProcessStartInfo info = new("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, eventsPath, tag }) info.ArgumentList.Add(a);
        Process? p;
        try
        {
            p = Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return; // no python3
        }
        using var process = p!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode == 3) return; // tensorboard is not installed
        Assert.True(process.ExitCode == 0, output + process.StandardError.ReadToEnd());
        var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(double.Parse).ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 1e-5);
    }
}
