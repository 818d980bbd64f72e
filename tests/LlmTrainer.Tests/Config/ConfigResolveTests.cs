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

    [Theory]
    [InlineData(288, 32, 768)]    // llama2.c 15M
    [InlineData(512, 32, 1376)]   // 1365 rounded up
    [InlineData(768, 32, 2048)]
    [InlineData(4096, 256, 11008)] // LLaMA-7B
    [InlineData(100, 1, 266)]
    public void Default_ffn_follows_llama(int dModel, int multipleOf, int expected) =>
        Assert.Equal(expected, TrainConfig.DefaultFfnHidden(dModel, multipleOf));

    [Fact]
    public void The_model_config_takes_the_automatic_sizes_and_needs_a_vocabulary()
    {
        var config = new TrainConfig { DModel = 64, NHead = 4, NKvHead = 0, FfnHidden = 0, VocabSize = 0, DocMask = true };
        Assert.Contains("vocab_size is 0", Assert.Throws<InvalidOperationException>(() => config.ToModelConfig()).Message);
        var model = (config with { VocabSize = 100 }).ToModelConfig(endOfTextId: 7);
        Assert.Equal((4, TrainConfig.DefaultFfnHidden(64, 32), 100, 16, 7), (model.NKvHead, model.FfnHidden, model.VocabSize, model.HeadDim, model.DocumentSeparator));
        // Resolving writes the same sizes into the config, so that the run's config.json describes its model.
        var resolved = config.Resolve(RuntimeCapabilities.CpuOnly, tokenizerVocabSize: 100);
        Assert.Equal(model with { DocumentSeparator = 0 }, resolved.ToModelConfig());
        Assert.Equal((4, model.FfnHidden), (resolved.NKvHead, resolved.FfnHidden));
    }

    [Fact]
    public void A_model_shape_sets_the_shape_keys_and_leaves_the_training_ones()
    {
        var config = new TrainConfig { Dropout = 0.1, MoeCapacityFactor = 1.25, DocMask = true, ExpertsPerToken = 3, LearningRate = 1e-3 };
        var moe = new LlmTrainer.Model.LlamaConfig(300, 64, 3, 8, 2, 100, 512, NormEps: 1e-6, RopeTheta: 500000, TieEmbeddings: false, NExperts: 4, ExpertsPerToken: 1);
        var shaped = config.WithModelShape(moe);
        Assert.Equal(moe with { Dropout = 0.1, MoeCapacityFactor = 1.25, DocMask = true, DocumentSeparator = 2 }, shaped.ToModelConfig(endOfTextId: 2));
        // Put the shape keys back, and the config is what it was: every other key is untouched.
        Assert.Equal(config, shaped with
        {
            VocabSize = config.VocabSize, DModel = config.DModel, NLayer = config.NLayer, NHead = config.NHead, NKvHead = config.NKvHead,
            FfnHidden = config.FfnHidden, BlockSize = config.BlockSize, NormEps = config.NormEps, RopeTheta = config.RopeTheta,
            TieEmbeddings = config.TieEmbeddings, NExperts = config.NExperts, ExpertsPerToken = config.ExpertsPerToken,
        });
        // A dense model has no experts_per_token of its own.
        Assert.Equal(3, config.WithModelShape(moe with { NExperts = 0 }).ExpertsPerToken);
    }
}
