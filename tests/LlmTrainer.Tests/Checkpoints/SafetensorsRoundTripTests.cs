using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using LlmTrainer.Checkpoints;

namespace LlmTrainer.Tests.Checkpoints;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Tensors_and_metadata_round_trip()
    {
        float[] weights = [1.5f, -2f, 3.25f, 0f, 1e-20f, float.MaxValue];
        long[] ids = [long.MinValue, 7];
        byte[] flags = [1, 0, 1];
        var path = _dir.Combine("a.safetensors");
        SafetensorsWriter.WriteFile(path,
        [
            SafetensorsEntry.FromBytes("model.embed_tokens.weight", SafetensorsDtype.F32, [2, 3], MemoryMarshal.AsBytes(weights.AsSpan()).ToArray()),
            SafetensorsEntry.FromBytes("flags", SafetensorsDtype.Bool, [3], flags),
            SafetensorsEntry.FromBytes("ids", SafetensorsDtype.I64, [2], MemoryMarshal.AsBytes(ids.AsSpan()).ToArray()),
            SafetensorsEntry.FromBytes("empty", SafetensorsDtype.BF16, [0, 4], Array.Empty<byte>()),
            SafetensorsEntry.FromBytes("scalar", SafetensorsDtype.F64, [], BitConverter.GetBytes(Math.PI)),
        ], new Dictionary<string, string> { ["format"] = "pt", ["step"] = "42" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["model.embed_tokens.weight", "flags", "ids", "empty", "scalar"], file.Tensors.Select(t => t.Name));
        Assert.Equal(weights, MemoryMarshal.Cast<byte, float>(file.GetBytes("model.embed_tokens.weight")).ToArray());
        Assert.Equal(flags, file.GetBytes("flags").ToArray());
        Assert.Equal(ids, MemoryMarshal.Cast<byte, long>(file.GetBytes("ids")).ToArray());
        Assert.Equal(0, file.GetBytes("empty").Length);
        Assert.Equal(Math.PI, BitConverter.ToDouble(file.GetBytes("scalar")));
        Assert.Equal([2L, 3L], file["model.embed_tokens.weight"].Shape);
        Assert.Equal(SafetensorsDtype.Bool, file["flags"].Dtype);
        Assert.Empty(file["scalar"].Shape);
        Assert.Equal("42", file.Metadata["step"]);
        Assert.False(file.Contains("missing"));
        Assert.Contains("missing", Assert.Throws<LlmTrainerException>(() => file["missing"]).Message);
    }

    [Fact]
    public void Header_is_space_padded_to_eight_bytes_and_follows_the_format()
    {
        var path = _dir.Combine("b.safetensors");
        SafetensorsWriter.WriteFile(path, [SafetensorsEntry.FromBytes("x", SafetensorsDtype.U8, [3], new byte[] { 9, 8, 7 })]);
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength);
        Assert.Equal("""{"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}""", header.TrimEnd(' '));
        Assert.Equal(new byte[] { 9, 8, 7 }, bytes[(8 + headerLength)..]);
    }

    [Fact]
    public void Data_can_be_streamed_in_chunks_by_a_callback()
    {
        var path = _dir.Combine("c.safetensors");
        var expected = Enumerable.Range(0, 1000).Select(i => (ushort)(i * 7)).ToArray();
        SafetensorsWriter.WriteFile(path,
        [
            new SafetensorsEntry("w", SafetensorsDtype.F16, [10, 100], writer =>
            {
                for (var row = 0; row < 10; row++)
                    writer.Write(MemoryMarshal.AsBytes(expected.AsSpan(row * 100, 100)));
            }),
        ]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expected, MemoryMarshal.Cast<byte, ushort>(file.GetBytes("w")).ToArray());
    }

    [Fact]
    public void Every_dtype_has_a_size_and_round_trips_its_name()
    {
        foreach (var dtype in Enum.GetValues<SafetensorsDtype>())
        {
            Assert.True(SafetensorsDtypes.TryParse(dtype.HeaderName(), out var parsed));
            Assert.Equal(dtype, parsed);
            Assert.Contains(dtype.Size(), new[] { 1, 2, 4, 8 });
        }
        Assert.Equal("BOOL", SafetensorsDtype.Bool.HeaderName());
        Assert.Equal(2, SafetensorsDtype.BF16.Size());
    }

    [Fact]
    public void Writer_rejects_wrong_byte_counts_and_leaves_no_file()
    {
        var path = _dir.Combine("d.safetensors");
        var tooFew = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.WriteFile(path,
            [SafetensorsEntry.FromBytes("w", SafetensorsDtype.F32, [2], new byte[4])]));
        Assert.Contains("'w'", tooFew.Message);
        Assert.Contains("need 8", tooFew.Message);
        Assert.False(File.Exists(path));

        var tooMany = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.WriteFile(path,
            [SafetensorsEntry.FromBytes("w", SafetensorsDtype.F32, [1], new byte[8])]));
        Assert.Contains("'w'", tooMany.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Writer_rejects_duplicate_names_and_bad_shapes()
    {
        var path = _dir.Combine("e.safetensors");
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SafetensorsWriter.WriteFile(path,
            [SafetensorsEntry.FromBytes("a", SafetensorsDtype.U8, [1], new byte[1]), SafetensorsEntry.FromBytes("a", SafetensorsDtype.U8, [1], new byte[1])])).Message);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => SafetensorsWriter.WriteFile(path,
            [SafetensorsEntry.FromBytes("a", SafetensorsDtype.U8, [-1], new byte[1])])).Message);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.WriteFile(path,
            [SafetensorsEntry.FromBytes(SafetensorsWriter.MetadataKey, SafetensorsDtype.U8, [1], new byte[1])]));
    }
}
