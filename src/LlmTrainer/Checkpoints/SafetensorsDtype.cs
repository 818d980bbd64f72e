namespace LlmTrainer.Checkpoints;

/// <summary>Element types of the safetensors format, named as in the header (<c>F32</c>, <c>BF16</c>, ...).</summary>
public enum SafetensorsDtype
{
    Bool,
    U8,
    I8,
    F8_E4M3,
    F8_E5M2,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

public static class SafetensorsDtypes
{
    private static readonly Dictionary<string, SafetensorsDtype> ByName =
        Enum.GetValues<SafetensorsDtype>().ToDictionary(HeaderName, StringComparer.Ordinal);

    /// <summary>Bytes per element.</summary>
    public static int Size(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool or SafetensorsDtype.U8 or SafetensorsDtype.I8 or SafetensorsDtype.F8_E4M3 or SafetensorsDtype.F8_E5M2 => 1,
        SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.U32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.I64 or SafetensorsDtype.U64 or SafetensorsDtype.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>The name written in the header: <c>BOOL</c>, <c>U8</c>, ..., <c>F8_E4M3</c>.</summary>
    public static string HeaderName(this SafetensorsDtype dtype) =>
        dtype == SafetensorsDtype.Bool ? "BOOL" : dtype.ToString();

    public static bool TryParse(string name, out SafetensorsDtype dtype) => ByName.TryGetValue(name, out dtype);

    public static IEnumerable<string> Names => ByName.Keys;
}
