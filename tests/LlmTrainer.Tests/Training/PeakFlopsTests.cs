using LlmTrainer.Training;

namespace LlmTrainer.Tests.Training;

public sealed class PeakFlopsTests
{
    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "H100 SXM", 989)]
    [InlineData("NVIDIA H100 PCIe", "H100 PCIe", 756)]
    [InlineData("NVIDIA H100 NVL", "H100 NVL", 835)]
    [InlineData("NVIDIA H200", "H200 SXM", 989)]
    [InlineData("NVIDIA GH200 480GB", "GH200", 989)]
    [InlineData("NVIDIA A100-SXM4-80GB", "A100", 312)]
    [InlineData("NVIDIA A100 80GB PCIe", "A100", 312)]
    [InlineData("NVIDIA A10", "A10", 125)]
    [InlineData("NVIDIA L4", "L4", 121)]
    [InlineData("NVIDIA L40S", "L40S", 362.05)]
    [InlineData("NVIDIA GeForce RTX 4090", "GeForce RTX 4090", 165.2)]
    [InlineData("NVIDIA GeForce RTX 3090", "GeForce RTX 3090", 71)]
    [InlineData("NVIDIA GeForce RTX 3090 Ti", "GeForce RTX 3090 Ti", 80)]
    [InlineData("NVIDIA RTX A6000", "RTX A6000", 154.8)]
    [InlineData("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada", 364.2)]
    public void Known_gpus_by_their_cuda_names(string deviceName, string gpu, double tflops)
    {
        Assert.Equal(gpu, PeakFlops.KnownGpu(deviceName));
        Assert.Equal(tflops, PeakFlops.Bf16DenseTflops(deviceName));
    }

    [Theory]
    [InlineData("NVIDIA A10G")]       // not an A10
    [InlineData("Tesla V100-SXM2-16GB")]
    [InlineData("cpu")]
    [InlineData("")]
    public void Unknown_devices_have_no_peak(string deviceName) =>
        Assert.Null(PeakFlops.Bf16DenseTflops(deviceName));

    [Fact]
    public void Mfu_is_achieved_over_peak()
    {
        // 6e9 FLOPs per token at 50,000 tokens/s = 3e14 FLOP/s; on two 300-TFLOP/s GPUs that is half.
        Assert.Equal(0.5, PeakFlops.Mfu(6e9, 50_000, 300, gpuCount: 2), 1e-12);
    }
}
