using LlmTrainer.Config;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests;

/// <summary>What a config resolves against in the device tests: the CPU only, or the machine's GPUs when <see cref="TestDevice"/> is CUDA.</summary>
internal static class TestCapabilities
{
    public static RuntimeCapabilities Current => TestDevice.IsCuda
        ? new RuntimeCapabilities(torch.cuda.device_count(), torch.cuda.get_device_properties(Math.Max(TestDevice.Current.Index, 0)).Major >= 8, false)
        : RuntimeCapabilities.CpuOnly;
}
