using System.Text.RegularExpressions;

namespace LlmTrainer.Training;

/// <summary>
/// Dense (no sparsity) bfloat16 tensor-core peak of common GPUs, from the vendors' data sheets, for model
/// FLOPs utilisation: MFU = achieved model FLOP/s ÷ peak. GeForce cards are listed at their rate with
/// FP32 accumulation, which is what training uses (half their FP16-accumulate figure).
/// </summary>
public static partial class PeakFlops
{
    /// <summary>Name patterns (matched on word boundaries, most specific first) and TFLOP/s.</summary>
    private static readonly (Regex Pattern, string Gpu, double Tflops)[] Table =
    [
        (Gpu(@"GH200"), "GH200", 989),
        (Gpu(@"H200 NVL"), "H200 NVL", 835),
        (Gpu(@"H200"), "H200 SXM", 989),
        (Gpu(@"H100 NVL"), "H100 NVL", 835),
        (Gpu(@"H100 PCIe"), "H100 PCIe", 756),
        (Gpu(@"H100"), "H100 SXM", 989),
        (Gpu(@"H800 PCIe"), "H800 PCIe", 756),
        (Gpu(@"H800"), "H800 SXM", 989),
        (Gpu(@"B200"), "B200", 2250),
        (Gpu(@"A100"), "A100", 312),
        (Gpu(@"A800"), "A800", 312),
        (Gpu(@"A40"), "A40", 149.7),
        (Gpu(@"A30"), "A30", 165),
        (Gpu(@"A10"), "A10", 125),
        (Gpu(@"L40S"), "L40S", 362.05),
        (Gpu(@"L40"), "L40", 181.05),
        (Gpu(@"L4"), "L4", 121),
        (Gpu(@"RTX 6000 Ada"), "RTX 6000 Ada", 364.2),
        (Gpu(@"RTX A6000"), "RTX A6000", 154.8),
        (Gpu(@"RTX 4090"), "GeForce RTX 4090", 165.2),
        (Gpu(@"RTX 4080"), "GeForce RTX 4080", 97.5),
        (Gpu(@"RTX 3090 Ti"), "GeForce RTX 3090 Ti", 80),
        (Gpu(@"RTX 3090"), "GeForce RTX 3090", 71),
        (Gpu(@"RTX 3080"), "GeForce RTX 3080", 59.5),
    ];

    /// <summary>
    /// The peak for a device name as CUDA reports it (<c>NVIDIA H100 80GB HBM3</c>, <c>NVIDIA A100-SXM4-40GB</c>,
    /// <c>NVIDIA GeForce RTX 4090</c>); null for GPUs not in the table (and CPUs), where MFU is not reported.
    /// </summary>
    public static double? Bf16DenseTflops(string deviceName) => Lookup(deviceName)?.Tflops;

    /// <summary>The table's name for the GPU, e.g. "H100 SXM" for "NVIDIA H100 80GB HBM3".</summary>
    public static string? KnownGpu(string deviceName) => Lookup(deviceName)?.Gpu;

    /// <summary>Model FLOPs utilisation: <paramref name="flopsPerToken"/> × tokens per second over the peak of <paramref name="gpuCount"/> GPUs.</summary>
    public static double Mfu(double flopsPerToken, double tokensPerSecond, double peakTflops, int gpuCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(peakTflops);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(gpuCount);
        return flopsPerToken * tokensPerSecond / (peakTflops * 1e12 * gpuCount);
    }

    private static (string Gpu, double Tflops)? Lookup(string deviceName)
    {
        foreach (var (pattern, gpu, tflops) in Table)
        {
            if (pattern.IsMatch(deviceName))
                return (gpu, tflops);
        }
        return null;
    }

    private static Regex Gpu(string name) =>
        new(@"(?<![A-Za-z0-9])" + name.Replace(" ", @"[\s_-]+") + @"(?![A-Za-z0-9])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
