namespace LlmTrainer.Torch;

/// <summary>Element types; the values are libtorch's <c>c10::ScalarType</c> codes.</summary>
public enum ScalarType : sbyte
{
    Byte = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    Bool = 11,
    BFloat16 = 15,
}

public static class ScalarTypeExtensions
{
    public static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown scalar type"),
    };

    public static bool IsFloatingPoint(this ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16;

    /// <summary>PyTorch's spelling: float32, bfloat16, int64…</summary>
    public static string Name(this ScalarType t) => t switch
    {
        ScalarType.Byte => "uint8",
        ScalarType.Int8 => "int8",
        ScalarType.Int16 => "int16",
        ScalarType.Int32 => "int32",
        ScalarType.Int64 => "int64",
        ScalarType.Float16 => "float16",
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Bool => "bool",
        ScalarType.BFloat16 => "bfloat16",
        _ => t.ToString(),
    };

    /// <summary>Parses PyTorch's names (float32, fp32, bf16, bfloat16, float16, half, int64…).</summary>
    public static ScalarType Parse(string name) => name.ToLowerInvariant() switch
    {
        "float32" or "fp32" or "float" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "half" => ScalarType.Float16,
        "float64" or "fp64" or "double" => ScalarType.Float64,
        "int64" or "long" => ScalarType.Int64,
        "int32" or "int" => ScalarType.Int32,
        "int16" or "short" => ScalarType.Int16,
        "int8" => ScalarType.Int8,
        "uint8" or "byte" => ScalarType.Byte,
        "bool" => ScalarType.Bool,
        _ => throw new ArgumentException($"unknown dtype '{name}' (expected float32, bfloat16, float16, float64, int64, int32, int16, int8, uint8 or bool)"),
    };
}
