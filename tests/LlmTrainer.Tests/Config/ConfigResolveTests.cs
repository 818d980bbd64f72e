using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class ConfigResolveTests
{
    private static readonly RuntimeCapabilities Gpu = new(CudaDeviceCount: 2, CudaSupportsBfloat16: true, CpuSupportsBfloat16: false);

    [Fact]
    public void Auto_values_become_concrete()
    {
        var config = new TrainConfig { DModel = 64, NHead = 4, MaxIters = 500, WarmupIters = 50, EvalInterval = 100 };
        var cpu = config.Resolve(RuntimeCapabilities.CpuOnly, tokenizerVocabSize: 300);
        Assert.Equal(("cpu", "float32", 4, 192, 300, 500, 100),
            (cpu.Device, cpu.Dtype, cpu.NKvHead, cpu.FfnHidden, cpu.VocabSize, cpu.LrDecayIters, cpu.CheckpointInterval));
        var gpu = config.Resolve(Gpu, 300);
        Assert.Equal(("cuda", "bfloat16"), (gpu.Device, gpu.Dtype));
        Assert.Equal(gpu, gpu.Resolve(Gpu, 300));
        ConfigValidator.Validate(gpu);
    }

    [Fact]
    public void Auto_dtype_falls_back_to_float32_on_gpus_without_bfloat16()
    {
        var resolved = new TrainConfig().Resolve(new RuntimeCapabilities(1, false, false), 100);
        Assert.Equal(("cuda", "float32"), (resolved.Device, resolved.Dtype));
    }

    [Fact]
    public void Impossible_hardware_requests_name_the_key()
    {
        Assert.Contains("device is 'cuda'", Assert.Throws<LlmTrainerException>(() =>
            new TrainConfig { Device = "cuda" }.Resolve(RuntimeCapabilities.CpuOnly, 100)).Message);
        Assert.Contains("cuda:2", Assert.Throws<LlmTrainerException>(() =>
            new TrainConfig { Device = "cuda:2" }.Resolve(Gpu, 100)).Message);
        Assert.Contains("dtype is 'bfloat16'", Assert.Throws<LlmTrainerException>(() =>
            new TrainConfig { Dtype = "bfloat16" }.Resolve(RuntimeCapabilities.CpuOnly, 100)).Message);
        Assert.Equal("cuda:1", new TrainConfig { Device = "cuda:1" }.Resolve(Gpu, 100).Device);
    }

    [Fact]
    public void Vocabulary_smaller_than_the_tokenizer_is_rejected()
    {
        var e = Assert.Throws<LlmTrainerException>(() => new TrainConfig { VocabSize = 256 }.Resolve(RuntimeCapabilities.CpuOnly, 300));
        Assert.Contains("vocab_size is 256", e.Message);
        Assert.Equal(512, new TrainConfig { VocabSize = 512 }.Resolve(RuntimeCapabilities.CpuOnly, 300).VocabSize);
    }
}
