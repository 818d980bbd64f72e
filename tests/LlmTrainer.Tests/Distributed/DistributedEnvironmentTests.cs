using System.Collections;
using LlmTrainer.Distributed;

namespace LlmTrainer.Tests.Distributed;

public sealed class DistributedEnvironmentTests
{
    private static DistributedEnvironment? Detect(params (string Key, string Value)[] vars) =>
        DistributedEnvironment.Detect(new Hashtable(vars.ToDictionary(v => v.Key, v => (object)v.Value)));

    [Fact]
    public void A_plain_process_is_not_a_worker() => Assert.Null(Detect(("PATH", "/usr/bin")));

    [Fact]
    public void Torchrun_variables_give_rank_world_and_rendezvous()
    {
        var env = Detect(("RANK", "5"), ("WORLD_SIZE", "16"), ("LOCAL_RANK", "1"), ("LOCAL_WORLD_SIZE", "8"),
            ("MASTER_ADDR", "node07"), ("MASTER_PORT", "29500"), ("TORCHELASTIC_RUN_ID", "abc"))!;
        Assert.Equal(new DistributedEnvironment(5, 16, 1, 8, "node07", 29500, "torchrun"), env);
        Assert.False(env.IsMaster);
    }

    [Fact]
    public void Torchruns_agent_store_is_joined_as_a_client_under_the_attempts_prefix()
    {
        var env = Detect(("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "1234"),
            ("TORCHELASTIC_USE_AGENT_STORE", "True"), ("TORCHELASTIC_RESTART_COUNT", "3"))!;
        Assert.True(env.StoreIsExternal);
        Assert.Equal("/worker/attempt_3", env.StorePrefix);
    }

    [Fact]
    public void Without_local_variables_every_rank_is_taken_as_local()
    {
        var env = Detect(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "1234"))!;
        Assert.Equal((1, 2), (env.LocalRank, env.LocalWorldSize));
        Assert.Equal("environment", env.Launcher);
    }

    [Fact]
    public void Slurm_variables_give_rank_world_and_the_first_node_as_master()
    {
        var env = Detect(("SLURM_PROCID", "9"), ("SLURM_NTASKS", "16"), ("SLURM_LOCALID", "1"), ("SLURM_NNODES", "2"),
            ("SLURM_JOB_NODELIST", "gpu[03-04]"), ("SLURM_JOB_ID", "4711"))!;
        Assert.Equal(new DistributedEnvironment(9, 16, 1, 8, "gpu03", DistributedEnvironment.SlurmPort(4711), "slurm"), env);
        Assert.Equal(16711, DistributedEnvironment.SlurmPort(4711));
        var overridden = Detect(("SLURM_PROCID", "0"), ("SLURM_NTASKS", "1"), ("SLURM_JOB_NODELIST", "a"), ("MASTER_ADDR", "10.0.0.1"), ("MASTER_PORT", "777"))!;
        Assert.Equal(("10.0.0.1", 777), (overridden.MasterAddr, overridden.MasterPort));
    }

    [Theory]
    [InlineData("node01", "node01")]
    [InlineData("a1,a2", "a1")]
    [InlineData("node[03-05,07],gpu1", "node03")]
    [InlineData("node[7,3]", "node7")]
    [InlineData("rack[1-2]-n[01-04]", "rack1-n01")]
    [InlineData(" host.example ", "host.example")]
    public void First_host_of_a_slurm_node_list(string list, string first) => Assert.Equal(first, DistributedEnvironment.FirstHost(list));

    [Fact]
    public void A_broken_node_list_or_variable_is_an_error_that_names_it()
    {
        var e = Assert.Throws<LlmTrainerException>(() => DistributedEnvironment.FirstHost("node[01-"));
        Assert.Contains("MASTER_ADDR", e.Message);
        e = Assert.Throws<LlmTrainerException>(() => Detect(("RANK", "2"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "1")));
        Assert.Contains("RANK=2", e.Message);
        e = Assert.Throws<LlmTrainerException>(() => Detect(("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "1")));
        Assert.Contains("MASTER_ADDR", e.Message);
        e = Assert.Throws<LlmTrainerException>(() => Detect(("RANK", "0"), ("WORLD_SIZE", "x"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "1")));
        Assert.Contains("WORLD_SIZE=x", e.Message);
    }
}
