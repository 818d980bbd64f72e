using System.CommandLine;
using System.Text.Json;
using LlmTrainer.Benchmarks;

namespace LlmTrainer.Cli.Commands;

/// <summary><c>llmtrain bench …</c>: measurements to compare against PyTorch (see benchmarks/).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks (compare with the scripts in benchmarks/)");
        var iterations = new Option<long>("--iterations") { Description = "Loop length", DefaultValueFactory = _ => 100_000 };
        var json = new Option<bool>("--json") { Description = "Print results as JSON lines" };
        var ops = new Command("ops", "Per-op overhead of the libtorch binding (tiny tensors, one thread)") { iterations, json };
        ops.SetAction(parse =>
        {
            foreach (var r in OpOverheadBenchmark.Run(parse.GetValue(iterations)))
            {
                if (parse.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { name = r.Name, ns_per_op = Math.Round(r.NanosecondsPerOp, 1), native_ns_per_op = Math.Round(r.NativeNanosecondsPerOp, 1) }));
                else
                    Console.WriteLine($"{r.Name,-36} {r.NanosecondsPerOp,8:F0} ns/op  (C++ alone {r.NativeNanosecondsPerOp:F0} ns, binding adds {r.OverheadNanoseconds:F0} ns)");
            }
            return 0;
        });
        bench.Subcommands.Add(ops);
        return bench;
    }
}
