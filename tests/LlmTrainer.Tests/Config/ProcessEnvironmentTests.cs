using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

[CollectionDefinition(nameof(ProcessEnvironmentTests), DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection;

/// <summary>Sets real environment variables, so it runs alone: no other test may see them.</summary>
[Collection(nameof(ProcessEnvironmentTests))]
public sealed class ProcessEnvironmentTests
{
    [Fact]
    public void The_process_environment_is_a_layer_between_file_and_command_line()
    {
        Environment.SetEnvironmentVariable("LLMTRAIN_eval_iters", "7");
        Environment.SetEnvironmentVariable("LLMTRAIN_log_interval", "3");
        try
        {
            var loaded = ConfigLoader.Load(["--log_interval", "4"]);
            Assert.Equal(7, loaded.Config.EvalIters);
            Assert.Equal(4, loaded.Config.LogInterval);
            Assert.Equal("environment variable LLMTRAIN_eval_iters", loaded.KeySources["eval_iters"]);

            Environment.SetEnvironmentVariable("LLMTRAIN_eval_iters", "seven");
            var e = Assert.Throws<LlmTrainerException>(() => ConfigLoader.Load([]));
            Assert.Contains("eval_iters (environment variable LLMTRAIN_eval_iters)", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("LLMTRAIN_eval_iters", null);
            Environment.SetEnvironmentVariable("LLMTRAIN_log_interval", null);
        }
    }
}
