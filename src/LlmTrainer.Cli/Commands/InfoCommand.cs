using System.CommandLine;
using System.Text.Json;
using LlmTrainer.Torch;
using LlmTrainer.Training;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain info</c>: versions, libtorch build features, devices, threads.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var brief = new Option<bool>("--brief") { Description = "One line: llmtrain and libtorch versions, CUDA or not" };
        var command = new Command("info", "Show llmtrain and libtorch versions, build features, devices and threads") { brief };
        command.SetAction(parse =>
        {
            Write(Console.Out, parse.GetValue(brief));
            return 0;
        });
        return command;
    }

    public static void Write(TextWriter o, bool brief)
    {
        var version = typeof(InfoCommand).Assembly.GetName().Version?.ToString(3) ?? "?";
        var build = JsonDocument.Parse(torch.build_info()).RootElement;
        var torchVersion = build.GetProperty("torch_version").GetString();
        bool builtWithCuda = build.GetProperty("cuda").GetBoolean();
        bool cudaAvailable = torch.cuda.is_available();
        int devices = cudaAvailable ? torch.cuda.device_count() : 0;
        if (brief)
        {
            var cuda = cudaAvailable ? $"CUDA, {devices} device(s)" : builtWithCuda ? "built with CUDA, no GPU available" : "CPU only";
            o.WriteLine($"llmtrain {version} · libtorch {torchVersion} ({cuda}) · {torch.get_num_threads()} threads");
            return;
        }
        o.WriteLine($"llmtrain   {version}");
        o.WriteLine($"libtorch   {torchVersion}");
        o.WriteLine($"built with CUDA: {(builtWithCuda ? "yes" : "no")}");
        var features = build.EnumerateObject().Where(p => p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False && p.Name != "cuda")
            .Select(p => $"{p.Name}={(p.Value.GetBoolean() ? "yes" : "no")}");
        o.WriteLine($"features   {string.Join(", ", features)}");
        bool gloo = torch.distributed.is_backend_available(torch.distributed.Backend.Gloo);
        bool nccl = torch.distributed.is_backend_available(torch.distributed.Backend.Nccl);
        o.WriteLine($"distributed gloo {(gloo ? "yes" : "no (build needs Gloo's headers: libgloo-dev)")}, " +
                    $"nccl {(nccl ? "yes" : builtWithCuda ? "no (this libtorch's NCCL headers were not found at build time)" : "no (needs a CUDA libtorch)")}");
        if (builtWithCuda && !cudaAvailable)
            o.WriteLine("CUDA       this libtorch has CUDA, but no CUDA device is available (driver missing or no GPU): running on CPU");
        bool sdpa = build.TryGetProperty("sdpa", out var s) && s.GetBoolean();
        for (int i = 0; i < devices; i++)
        {
            var p = torch.cuda.get_device_properties(i);
            // bfloat16 tensor cores and flash attention both need compute capability 8.0 (Ampere) or newer.
            bool ampere = p.Major >= 8;
            var peak = PeakFlops.Bf16DenseTflops(p.Name);
            o.WriteLine($"cuda:{i}     {p.Name}, {p.TotalMemory / (double)(1L << 30):F1} GiB, compute {p.Major}.{p.Minor}, " +
                        $"bf16 {(ampere ? "yes" : "no")}, flash attention {(ampere && sdpa ? "yes" : sdpa ? "no (needs compute 8.0)" : "no (needs libtorch 2.x)")}, " +
                        $"bf16 peak {(peak is { } t ? $"{t:N0} TFLOP/s" : "unknown (MFU n/a)")}");
        }
        if (devices == 0 && !builtWithCuda) o.WriteLine("devices    cpu");
        o.WriteLine($"threads    {torch.get_num_threads()} (of {Environment.ProcessorCount} cores; LLMTRAIN_THREADS overrides)");
        o.WriteLine($".NET       {Environment.Version}");
        o.WriteLine();
        o.WriteLine(torch.parallel_info().TrimEnd());
    }
}
