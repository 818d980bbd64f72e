using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LlmTrainer.Config;
using LlmTrainer.Planning;

namespace LlmTrainer.Cli.Commands;

/// <summary>
/// <c>llmtrain plan --config NAME [--device cpu|cuda|h100-80gb|…] [--mfu 0.4] [--json] [--key value…]</c>: the memory a run
/// needs by component against the device's, the largest batch_size that fits, and step time, tokens/s and days to
/// max_iters at an assumed MFU.
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var config = ConfigOption.Create();
        var device = new Option<string>("--device")
        {
            Description = $"cpu (this machine's memory), cuda or cuda:N (this machine's GPU), or one of {string.Join(", ", PlanDevice.Known.Select(k => k.Name))}; " +
                          "default: this machine's GPU, else cpu",
            DefaultValueFactory = _ => "auto",
        };
        var mfu = new Option<double?>("--mfu") { Description = $"Model FLOPs utilisation to assume for step times on a GPU (default {TrainingPlan.DefaultMfu})" };
        var json = new Option<bool>("--json") { Description = "Print the plan as one JSON object" };
        var command = new Command("plan", "Plan a run before renting a GPU: memory by component against the device's, the largest batch_size that fits, " +
                                          "and time to max_iters at an assumed MFU. Any config key can be given as --key value")
        {
            config, device, mfu, json,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var plan = Make(parse.GetValue(config), parse.GetValue(device)!, parse.GetValue(mfu), parse.UnmatchedTokens);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json)) o.WriteLine(JsonSerializer.Serialize(ToJson(plan), new JsonSerializerOptions { WriteIndented = true }));
            else Print(o, plan);
            return 0;
        });
        return command;
    }

    public static TrainingPlan Make(string? configName, string deviceName, double? mfu, IReadOnlyList<string> overrides)
    {
        if (mfu is { } m && (m <= 0 || m > 1))
            throw new LlmTrainerException($"--mfu {m.ToString(CultureInfo.InvariantCulture)} must be a fraction in (0, 1], e.g. 0.4.");
        var loaded = ConfigLoader.Load(overrides, new ConfigLoadOptions { Config = configName, CheckDataPaths = false });
        if (deviceName == "auto") deviceName = Torch.torch.cuda.is_available() ? "cuda" : "cpu";
        var target = PlanDevice.Parse(deviceName);
        // The plan is for the target, not this machine: resolve the config as if training there.
        var cfg = loaded.Config with { Device = target.IsCuda ? "cuda" : "cpu" };
        if (!target.IsCuda) cfg = cfg with { Dtype = "float32" }; // llmtrain trains in float32 on the CPU
        var caps = target.IsCuda ? new RuntimeCapabilities(1, CudaSupportsBfloat16: true, CpuSupportsBfloat16: false) : RuntimeCapabilities.CpuOnly;
        cfg = cfg.Resolve(caps, cfg.VocabSize > 0 ? cfg.VocabSize : Data.BuiltinData.VocabSize);
        return TrainingPlan.For(cfg, target, mfu);
    }

    private static void Print(TextWriter o, TrainingPlan p)
    {
        var c = p.Config;
        var inv = CultureInfo.InvariantCulture;
        string precision = c.Dtype == "float32" ? "float32" : $"{c.Dtype} autocast (fp32 master weights)";
        o.WriteLine($"plan        {c.Name}: {p.Parameters:N0} parameters, {c.NLayer} layers, d_model {c.DModel}, vocab {c.VocabSize}, context {c.BlockSize}");
        o.WriteLine($"device      {p.Device.Name}: {p.Device.Description}, {Gib(p.Device.MemoryBytes)}" +
                    (p.Device.Bf16Tflops is { } t ? $", bf16 peak {t.ToString("N0", inv)} TFLOP/s" : ""));
        o.WriteLine($"step        batch {c.BatchSize} × block {c.BlockSize} × accum {c.GradAccumSteps} = {c.TokensPerStep:N0} tokens, {precision}" +
                    $", activation checkpointing {(c.ActivationCheckpointing ? "on" : "off")}");
        o.WriteLine();
        var rows = new List<string[]>
        {
            new[] { "weights (fp32" + (c.Dtype == "float32" ? ")" : ", the master copy)"), Gib(p.Weights), "4 bytes × parameters" },
            new[] { "gradients (fp32)", Gib(p.Gradients), c.GradAccumSteps > 1 ? "held through the step (grad_accum_steps > 1)" : "from the backward to the optimizer step" },
            new[] { "AdamW state (fp32 m, v)", Gib(p.Optimizer), "8 bytes × parameters" },
        };
        if (p.CastWeights > 0) rows.Add(["bf16 weight copies", Gib(p.CastWeights), "autocast's casts, kept for the backward"]);
        rows.Add(["activations, one micro-batch", Gib(p.Activations),
            $"at the peak; with the logits {Gib(p.ActivationsPlain)} without, {Gib(p.ActivationsCheckpointed)} with activation checkpointing"]);
        rows.Add(["logits, loss and gradient", Gib(p.Logits), $"{(double)c.BatchSize * c.BlockSize * c.VocabSize:N0} logits"]);
        rows.Add(["peak allocated", Gib(p.Peak), p.Device.IsCuda ? "what torch.cuda.max_memory_allocated would report" : "what the CPU allocator's peak would report"]);
        if (p.Device.IsCuda)
        {
            rows.Add(["CUDA allocator margin", Gib(p.AllocatorMargin), $"{TrainingPlan.CudaAllocatorMargin:P0} of the peak: block rounding and fragmentation"]);
            rows.Add(["CUDA context", Gib(p.Context), "context, cuBLAS and cuDNN workspaces"]);
        }
        rows.Add(["total", Gib(p.Total), $"of {Gib(p.Device.MemoryBytes)} ({p.Total / p.Device.MemoryBytes:P0}): {(p.Fits ? "fits" : "DOES NOT FIT")}"]);
        foreach (var row in rows) o.WriteLine($"{row[0],-32} {row[1],10}  {row[2]}");
        o.WriteLine();
        o.WriteLine($"largest batch_size that fits: {BatchText(p.MaxBatchSizePlain)} without, {BatchText(p.MaxBatchSizeCheckpointed)} with activation checkpointing " +
                    $"(block {c.BlockSize}; grad_accum_steps keeps the tokens per step)");
        if (p.StepSeconds is { } s)
            o.WriteLine($"time        {s.ToString("F2", inv)} s/step, {p.TokensPerSecond!.Value.ToString("N0", inv)} tokens/s, " +
                        $"{p.DaysToMaxIters!.Value.ToString("F1", inv)} days to max_iters {c.MaxIters:N0} " +
                        $"({(double)c.TokensPerStep * c.MaxIters / 1e9:F1}B tokens) at an assumed MFU of {p.Mfu!.Value:P0} (--mfu changes it)");
        else
            o.WriteLine("time        not estimated on the CPU (no known peak); measure it with 'llmtrain bench train'");
    }

    private static string BatchText(int batch) => batch == 0 ? "none (not even 1)" : batch.ToString(CultureInfo.InvariantCulture);

    private static string Gib(double bytes) => bytes >= 1L << 30
        ? $"{(bytes / (1L << 30)).ToString("F2", CultureInfo.InvariantCulture)} GiB"
        : $"{(bytes / (1L << 20)).ToString("F1", CultureInfo.InvariantCulture)} MiB";

    private static object ToJson(TrainingPlan p) => new Dictionary<string, object?>
    {
        ["config"] = p.Config.Name,
        ["parameters"] = p.Parameters,
        ["device"] = p.Device.Name,
        ["device_memory_bytes"] = p.Device.MemoryBytes,
        ["dtype"] = p.Config.Dtype,
        ["batch_size"] = p.Config.BatchSize,
        ["block_size"] = p.Config.BlockSize,
        ["grad_accum_steps"] = p.Config.GradAccumSteps,
        ["activation_checkpointing"] = p.Config.ActivationCheckpointing,
        ["weights_bytes"] = (long)p.Weights,
        ["gradients_bytes"] = (long)p.Gradients,
        ["optimizer_bytes"] = (long)p.Optimizer,
        ["cast_weights_bytes"] = (long)p.CastWeights,
        ["activations_bytes"] = (long)p.Activations,
        ["activations_plain_bytes"] = (long)p.ActivationsPlain,
        ["activations_checkpointed_bytes"] = (long)p.ActivationsCheckpointed,
        ["logits_bytes"] = (long)p.Logits,
        ["peak_bytes"] = (long)p.Peak,
        ["allocator_margin_bytes"] = (long)p.AllocatorMargin,
        ["context_bytes"] = (long)p.Context,
        ["total_bytes"] = (long)p.Total,
        ["fits"] = p.Fits,
        ["max_batch_size"] = p.MaxBatchSize,
        ["max_batch_size_plain"] = p.MaxBatchSizePlain,
        ["max_batch_size_checkpointed"] = p.MaxBatchSizeCheckpointed,
        ["assumed_mfu"] = p.Mfu,
        ["step_seconds"] = p.StepSeconds,
        ["tokens_per_sec"] = p.TokensPerSecond,
        ["days_to_max_iters"] = p.DaysToMaxIters,
    };
}
