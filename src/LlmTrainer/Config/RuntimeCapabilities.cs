using LlmTrainer.Torch;

namespace LlmTrainer.Config;

/// <summary>What the machine can do, as the trainer finds out from libtorch; input to <see cref="TrainConfig.Resolve"/>.</summary>
/// <param name="CudaDeviceCount">CUDA devices visible to libtorch (0 when it has no CUDA or no GPU).</param>
/// <param name="CudaSupportsBfloat16">Whether the GPU computes in bfloat16 (Ampere and newer).</param>
/// <param name="CpuSupportsBfloat16">Whether the CPU build of libtorch trains in bfloat16.</param>
public sealed record RuntimeCapabilities(int CudaDeviceCount, bool CudaSupportsBfloat16, bool CpuSupportsBfloat16)
{
    public static readonly RuntimeCapabilities CpuOnly = new(0, false, false);

    /// <summary>Asks libtorch: CUDA devices, bf16 on the first GPU (compute capability 8.0+), bf16 autocast on the CPU.</summary>
    public static RuntimeCapabilities Detect()
    {
        int n = torch.cuda.is_available() ? torch.cuda.device_count() : 0;
        bool cudaBf16 = n > 0 && torch.cuda.get_device_properties(0).Major >= 8;
        return new RuntimeCapabilities(n, cudaBf16, torch.cpu.supports_bfloat16_autocast());
    }
}
