using LlmTrainer.Training;

namespace LlmTrainer.Planning;

/// <summary>A device to plan a run for: its memory and, for a GPU, its dense bfloat16 peak.</summary>
/// <param name="Name">As given: cpu, cuda, cuda:N, or a name from <see cref="Known"/> such as h100-80gb.</param>
/// <param name="Description">What it is, e.g. "NVIDIA H100 80GB (SXM)".</param>
/// <param name="MemoryBytes">Memory training may use: what CUDA reports for a GPU, MemAvailable for this machine's CPU.</param>
/// <param name="Bf16Tflops">Dense bfloat16 peak (TFLOP/s) for step-time estimates; null on the CPU.</param>
public sealed record PlanDevice(string Name, string Description, long MemoryBytes, double? Bf16Tflops, bool IsCuda)
{
    private const long GiB = 1L << 30;

    /// <summary>GPUs by name, with the total memory CUDA reports for them (a little under the marketed size) and their peak.</summary>
    public static readonly IReadOnlyList<PlanDevice> Known =
    [
        Gpu("h100-80gb", "NVIDIA H100 80GB (SXM)", 79.1, "H100"),
        Gpu("h100-pcie", "NVIDIA H100 PCIe 80GB", 79.1, "H100 PCIe"),
        Gpu("h100-nvl", "NVIDIA H100 NVL 94GB", 93.1, "H100 NVL"),
        Gpu("h200", "NVIDIA H200 141GB (SXM)", 139.8, "H200"),
        Gpu("a100-80gb", "NVIDIA A100 80GB", 79.2, "A100"),
        Gpu("a100-40gb", "NVIDIA A100 40GB", 39.4, "A100"),
        Gpu("l40s", "NVIDIA L40S 48GB", 44.4, "L40S"),
        Gpu("a10", "NVIDIA A10 24GB", 22.1, "A10"),
        Gpu("l4", "NVIDIA L4 24GB", 22.0, "L4"),
        Gpu("rtx4090", "NVIDIA GeForce RTX 4090 24GB", 23.6, "RTX 4090"),
        Gpu("rtx3090", "NVIDIA GeForce RTX 3090 24GB", 23.6, "RTX 3090"),
    ];

    private static PlanDevice Gpu(string name, string description, double gib, string peakName) =>
        new(name, description, (long)(gib * GiB), PeakFlops.Bf16DenseTflops(peakName), IsCuda: true);

    /// <summary>
    /// The device named <paramref name="name"/>: cpu (this machine's available memory), cuda or cuda:N (this machine's GPU), or
    /// one of <see cref="Known"/>. Throws naming the choices for anything else.
    /// </summary>
    public static PlanDevice Parse(string name)
    {
        var key = name.Trim().ToLowerInvariant();
        if (key == "cpu")
        {
            var available = MemoryEstimate.Available(Torch.Device.CPU) ?? throw new LlmTrainerException(
                "cannot read this machine's available memory (/proc/meminfo); plan for a named device instead (--device h100-80gb).");
            return new PlanDevice("cpu", $"this machine's CPU ({Environment.ProcessorCount} cores)", available, null, IsCuda: false);
        }
        if (key == "cuda" || key.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = key == "cuda" ? 0 : int.TryParse(key[5..], out var i) ? i : -1;
            int count = Torch.torch.cuda.is_available() ? Torch.torch.cuda.device_count() : 0;
            if (index < 0 || index >= count)
                throw new LlmTrainerException(
                    $"--device {name}: this machine has {count} CUDA device(s); plan for a named GPU instead ({string.Join(", ", Known.Select(k => k.Name))}).");
            var p = Torch.torch.cuda.get_device_properties(index);
            return new PlanDevice(key, p.Name, p.TotalMemory, PeakFlops.Bf16DenseTflops(p.Name), IsCuda: true);
        }
        return Known.FirstOrDefault(k => k.Name == key) ?? throw new LlmTrainerException(
            $"--device {name} is not known; use cpu, cuda, cuda:N or one of {string.Join(", ", Known.Select(k => k.Name))}.");
    }
}
