namespace LlmTrainer.Torch;

/// <summary>Device kinds; the values are libtorch's <c>c10::DeviceType</c> codes.</summary>
public enum DeviceType : sbyte
{
    CPU = 0,
    CUDA = 1,
}

/// <summary>A device such as <c>cpu</c> or <c>cuda:1</c>. Index -1 means "the current one".</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    public static readonly Device CPU = new(DeviceType.CPU);

    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    public bool IsCuda => Type == DeviceType.CUDA;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>.</summary>
    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA(0);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var index) && index >= 0) return CUDA(index);
        throw new ArgumentException($"unknown device '{text}' (expected cpu, cuda or cuda:N)");
    }

    public override string ToString() => Type switch
    {
        DeviceType.CPU => "cpu",
        DeviceType.CUDA => Index >= 0 ? $"cuda:{Index}" : "cuda",
        _ => Type.ToString().ToLowerInvariant(),
    };
}
