using System.Buffers.Binary;
using System.Text;
using LlmTrainer.Checkpoints;

namespace LlmTrainer.Tests.Checkpoints;

/// <summary>Every malformed file is refused with a message naming the file and, where there is one, the tensor.</summary>
public sealed class SafetensorsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string header, int dataBytes, ulong? declaredLength = null)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        var path = _dir.Combine($"{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Reject(string path, params string[] expected)
    {
        var e = Assert.Throws<LlmTrainerException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        foreach (var text in expected)
            Assert.Contains(text, e.Message);
        return e.Message;
    }

    [Fact]
    public void A_well_formed_file_opens() =>
        SafetensorsFile.Open(Write("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8)).Dispose();

    [Fact]
    public void An_empty_header_with_no_data_opens()
    {
        using var file = SafetensorsFile.Open(Write("{}      ", 0));
        Assert.Empty(file.Tensors);
    }

    [Fact]
    public void Missing_file() =>
        Assert.Contains("nope.safetensors", Assert.Throws<LlmTrainerException>(() => SafetensorsFile.Open(_dir.Combine("nope.safetensors"))).Message);

    [Fact]
    public void File_shorter_than_the_length_field()
    {
        var path = _dir.Combine("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Reject(path, "too short");
    }

    [Fact]
    public void Header_length_past_the_end_of_the_file() =>
        Reject(Write("{}", 0, declaredLength: 1000), "header of 1000 bytes", "truncated");

    [Fact]
    public void Absurd_header_length() =>
        Reject(Write("{}", 0, declaredLength: ulong.MaxValue), "limit");

    [Fact]
    public void Header_that_is_not_json() =>
        Reject(Write("{\"a\": nonsense}", 0), "not valid JSON");

    [Fact]
    public void Header_that_is_not_an_object() =>
        Reject(Write("[1, 2]", 0), "not an object");

    [Fact]
    public void Unknown_dtype() =>
        Reject(Write("""{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}""", 16), "'w'", "unknown dtype \"F128\"");

    [Fact]
    public void Missing_field() =>
        Reject(Write("""{"w":{"dtype":"F32","data_offsets":[0,4]}}""", 4), "'w'", "lacks shape");

    [Fact]
    public void Unknown_field() =>
        Reject(Write("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"stride":[1]}}""", 4), "'w'", "unknown field 'stride'");

    [Fact]
    public void Negative_or_fractional_dimension()
    {
        Reject(Write("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4), "'w'", "shape entry -1");
        Reject(Write("""{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4), "'w'", "shape entry 1.5");
    }

    [Fact]
    public void Shape_and_dtype_disagree_with_the_offsets() =>
        Reject(Write("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "'w'", "12 bytes", "span 8");

    [Fact]
    public void Offsets_that_are_not_a_pair_or_run_backwards()
    {
        Reject(Write("""{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}""", 1), "'w'", "1 data_offsets");
        Reject(Write("""{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}""", 4), "'w'", "end before they begin");
    }

    [Fact]
    public void Offsets_past_the_data_mean_truncation() =>
        Reject(Write("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 10), "'w'", "holds 10 bytes", "truncated");

    [Fact]
    public void Overlapping_tensors() =>
        Reject(Write("""{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}""", 6),
            "'b'", "overlaps tensor 'a'");

    [Fact]
    public void A_gap_between_tensors() =>
        Reject(Write("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}""", 6),
            "2 bytes at data offset 2 before tensor 'b'");

    [Fact]
    public void Out_of_order_offsets_are_fine_when_they_tile_the_data()
    {
        using var file = SafetensorsFile.Open(Write(
            """{"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 4));
        Assert.Equal(["b", "a"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Trailing_bytes_after_the_last_tensor() =>
        Reject(Write("""{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 5), "3 bytes after the last tensor 'a'");

    [Fact]
    public void Duplicate_tensor_names() =>
        Reject(Write("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2),
            "'a' twice");

    [Fact]
    public void Metadata_that_is_not_strings() =>
        Reject(Write("""{"__metadata__":{"step":3}}""", 0), "metadata 'step'", "strings");

    [Fact]
    public void A_truncated_real_file_is_refused()
    {
        var path = _dir.Combine("real.safetensors");
        SafetensorsWriter.WriteFile(path, [SafetensorsEntry.FromBytes("w", SafetensorsDtype.F32, [256], new byte[1024])]);
        using (var stream = new FileStream(path, FileMode.Open))
            stream.SetLength(stream.Length - 100);
        Reject(path, "'w'", "truncated");
    }
}
