using LlmTrainer.Torch;

namespace LlmTrainer.Checkpoints;

/// <summary>Named tensors to and from safetensors files (our own reader and writer; never pickle).</summary>
public static class TensorFiles
{
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
        {
            var t = kv.Value;
            var bytes = t.ToBytes();
            return SafetensorsEntry.FromBytes(kv.Key, ToSafetensors(t.dtype), t.shape, bytes);
        }).ToList();
        SafetensorsWriter.WriteFile(path, entries, metadata);
    }

    /// <summary>Every tensor in the file, as new CPU tensors owned by the current dispose scope.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>();
        foreach (var t in file.Tensors)
            result[t.Name] = torch.frombuffer(file.GetBytes(t), t.Shape.ToArray(), FromSafetensors(t.Dtype, path, t.Name));
        return result;
    }

    private static SafetensorsDtype ToSafetensors(ScalarType t) => t switch
    {
        ScalarType.Float32 => SafetensorsDtype.F32,
        ScalarType.BFloat16 => SafetensorsDtype.BF16,
        ScalarType.Float16 => SafetensorsDtype.F16,
        ScalarType.Float64 => SafetensorsDtype.F64,
        ScalarType.Int64 => SafetensorsDtype.I64,
        ScalarType.Int32 => SafetensorsDtype.I32,
        ScalarType.Int16 => SafetensorsDtype.I16,
        ScalarType.Int8 => SafetensorsDtype.I8,
        ScalarType.Byte => SafetensorsDtype.U8,
        ScalarType.Bool => SafetensorsDtype.Bool,
        _ => throw new ArgumentException($"dtype {t} cannot be stored in safetensors"),
    };

    private static ScalarType FromSafetensors(SafetensorsDtype t, string path, string name) => t switch
    {
        SafetensorsDtype.F32 => ScalarType.Float32,
        SafetensorsDtype.BF16 => ScalarType.BFloat16,
        SafetensorsDtype.F16 => ScalarType.Float16,
        SafetensorsDtype.F64 => ScalarType.Float64,
        SafetensorsDtype.I64 => ScalarType.Int64,
        SafetensorsDtype.I32 => ScalarType.Int32,
        SafetensorsDtype.I16 => ScalarType.Int16,
        SafetensorsDtype.I8 => ScalarType.Int8,
        SafetensorsDtype.U8 => ScalarType.Byte,
        SafetensorsDtype.Bool => ScalarType.Bool,
        _ => throw new LlmTrainerException($"{path}: tensor '{name}' has dtype {t}, which llmtrain cannot load"),
    };
}
