using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class RuntimeVariableTests
{
    [Fact]
    public void Runtime_variables_with_the_prefix_are_not_config_keys_but_others_still_fail()
    {
        var env = new Dictionary<string, string> { ["LLMTRAIN_THREADS"] = "2", ["LLMTRAIN_NATIVE"] = "/x/libllmtorch.so", ["LLMTRAIN_TEST_DEVICE"] = "cuda",
                                                   ["LLMTRAIN_max_iters"] = "70" };
        var loaded = ConfigLoader.Load([], new ConfigLoadOptions { Environment = env, CheckDataPaths = false });
        Assert.Equal(70, loaded.Config.MaxIters);
        env["LLMTRAIN_max_iterz"] = "70";
        var e = Assert.Throws<LlmTrainerException>(() => ConfigLoader.Load([], new ConfigLoadOptions { Environment = env, CheckDataPaths = false }));
        Assert.Contains("max_iterz", e.Message);
    }
}
