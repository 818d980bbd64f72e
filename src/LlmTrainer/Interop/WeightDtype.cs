using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>The element type exported weights are stored in.</summary>
public enum WeightDtype
{
    F32,
    F16,
    BF16,
}

public static class WeightDtypes
{
    public static WeightDtype Parse(string text) => text.ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => WeightDtype.F32,
        "f16" or "fp16" or "float16" => WeightDtype.F16,
        "bf16" or "bfloat16" => WeightDtype.BF16,
        _ => throw new LlmTrainerException($"--dtype '{text}' is not a known weight type; use f32, f16 or bf16."),
    };

    public static ScalarType ToScalarType(this WeightDtype dtype) => dtype switch
    {
        WeightDtype.F16 => ScalarType.Float16,
        WeightDtype.BF16 => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };

    /// <summary>The name Hugging Face's config.json uses (<c>torch_dtype</c>).</summary>
    public static string TorchName(this WeightDtype dtype) => dtype switch
    {
        WeightDtype.F16 => "float16",
        WeightDtype.BF16 => "bfloat16",
        _ => "float32",
    };
}
