using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmTrainer.Distributed;

/// <summary>
/// Where this process stands in a data-parallel job, read from the environment its launcher set: torchrun's (and
/// <c>llmtrain train --nproc-per-node</c>'s) <c>RANK</c>, <c>WORLD_SIZE</c>, <c>LOCAL_RANK</c>, <c>LOCAL_WORLD_SIZE</c>,
/// <c>MASTER_ADDR</c>, <c>MASTER_PORT</c>, or Slurm's <c>SLURM_PROCID</c>, <c>SLURM_NTASKS</c>, <c>SLURM_LOCALID</c>
/// with the first host of the job's node list as the master.
/// </summary>
/// <param name="StoreIsExternal">
/// The rendezvous store is hosted by the launcher (torchrun's agent, <c>TORCHELASTIC_USE_AGENT_STORE=True</c>), not by rank 0.
/// </param>
/// <param name="StorePrefix">The prefix of this job's keys in the store (torchrun's agent store: per restart attempt).</param>
public sealed record DistributedEnvironment(
    int Rank, int WorldSize, int LocalRank, int LocalWorldSize, string MasterAddr, int MasterPort, string Launcher,
    bool StoreIsExternal = false, string StorePrefix = "llmtrain")
{
    public bool IsMaster => Rank == 0;

    /// <summary>The port Slurm jobs use when MASTER_PORT is not set: derived from the job id, as common launch scripts do.</summary>
    public static int SlurmPort(long jobId) => 12000 + (int)(jobId % 20000);

    /// <summary>The job this process belongs to, or null for a single process (no launcher variables set).</summary>
    public static DistributedEnvironment? Detect(IDictionary? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => variables[name] is string v && v.Length > 0 ? v : null;

        if (Get("RANK") is { } rankText && Get("WORLD_SIZE") is { } worldText)
        {
            int world = Number("WORLD_SIZE", worldText, min: 1);
            int rank = Number("RANK", rankText, min: 0, max: world - 1);
            int localWorld = Get("LOCAL_WORLD_SIZE") is { } lw ? Number("LOCAL_WORLD_SIZE", lw, min: 1) : world;
            int localRank = Get("LOCAL_RANK") is { } lr ? Number("LOCAL_RANK", lr, min: 0, max: localWorld - 1) : rank % localWorld;
            var addr = Get("MASTER_ADDR") ?? throw Missing("MASTER_ADDR", "torchrun");
            int port = Number("MASTER_PORT", Get("MASTER_PORT") ?? throw Missing("MASTER_PORT", "torchrun"), min: 1, max: 65535);
            bool agentStore = string.Equals(Get("TORCHELASTIC_USE_AGENT_STORE"), "true", StringComparison.OrdinalIgnoreCase);
            string launcher = Get("LLMTRAIN_LAUNCHER") ?? (Get("TORCHELASTIC_RUN_ID") is not null ? "torchrun" : "environment");
            string prefix = agentStore ? $"/worker/attempt_{Get("TORCHELASTIC_RESTART_COUNT") ?? "0"}" : "llmtrain";
            return new DistributedEnvironment(rank, world, localRank, localWorld, addr, port, launcher, agentStore, prefix);
        }

        if (Get("SLURM_PROCID") is { } procText && Get("SLURM_NTASKS") is { } tasksText)
        {
            int world = Number("SLURM_NTASKS", tasksText, min: 1);
            int rank = Number("SLURM_PROCID", procText, min: 0, max: world - 1);
            int nodes = Get("SLURM_NNODES") is { } nn ? Number("SLURM_NNODES", nn, min: 1) : 1;
            int localWorld = Get("SLURM_NTASKS_PER_NODE") is { } tpn && int.TryParse(tpn, NumberStyles.None, CultureInfo.InvariantCulture, out var perNode)
                ? perNode
                : (world + nodes - 1) / nodes;
            int localRank = Get("SLURM_LOCALID") is { } lid ? Number("SLURM_LOCALID", lid, min: 0) : rank % localWorld;
            var addr = Get("MASTER_ADDR") ?? FirstHost(Get("SLURM_JOB_NODELIST") ?? Get("SLURM_NODELIST")
                ?? throw Missing("SLURM_JOB_NODELIST", "Slurm"));
            long jobId = Get("SLURM_JOB_ID") is { } job && long.TryParse(job, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;
            int port = Get("MASTER_PORT") is { } p ? Number("MASTER_PORT", p, min: 1, max: 65535) : SlurmPort(jobId);
            return new DistributedEnvironment(rank, world, localRank, localWorld, addr, port, "slurm");
        }
        return null;
    }

    /// <summary>
    /// The first host of a Slurm node list: <c>node[03-05,07],gpu1</c> → <c>node03</c>, <c>a1,a2</c> → <c>a1</c>,
    /// <c>rack[1-2]-n[01-04]</c> → <c>rack1-n01</c>.
    /// </summary>
    public static string FirstHost(string nodeList)
    {
        var first = FirstEntry(nodeList.Trim());
        var host = Regex.Replace(first, @"\[([^\]]*)\]", m =>
        {
            var item = m.Groups[1].Value.Split(',')[0];
            return item.Split('-')[0];
        });
        if (host.Length == 0 || host.Contains('[') || host.Contains(']'))
            throw new LlmTrainerException($"SLURM_JOB_NODELIST '{nodeList}' is not a node list llmtrain can read; set MASTER_ADDR to the first node's address.");
        return host;
    }

    // The first comma-separated entry, where commas inside brackets do not separate.
    private static string FirstEntry(string list)
    {
        int depth = 0;
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] == '[') depth++;
            else if (list[i] == ']') depth--;
            else if (list[i] == ',' && depth == 0) return list[..i];
        }
        return list;
    }

    private static int Number(string name, string text, int min, int max = int.MaxValue)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new LlmTrainerException(
                $"{name}={text} is not valid: expected a whole number{(max == int.MaxValue ? $" ≥ {min}" : $" from {min} to {max}")}. " +
                "It is set by the launcher (torchrun, srun or llmtrain train --nproc-per-node).");
        return v;
    }

    private static LlmTrainerException Missing(string name, string launcher) =>
        new($"{name} is not set, but the other variables of a {launcher} job are; set it to the rendezvous host/port (rank 0's machine).");
}
