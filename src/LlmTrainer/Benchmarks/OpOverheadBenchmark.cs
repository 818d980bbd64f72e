using System.Diagnostics;
using LlmTrainer.Torch;

namespace LlmTrainer.Benchmarks;

/// <summary>One measured loop: nanoseconds per op.</summary>
/// <param name="NativeNanosecondsPerOp">The same loop in C++ against libtorch directly: what the op itself costs.</param>
public sealed record OpTiming(string Name, long Iterations, double NanosecondsPerOp, double NativeNanosecondsPerOp)
{
    /// <summary>What the binding adds per op.</summary>
    public double OverheadNanoseconds => NanosecondsPerOp - NativeNanosecondsPerOp;
}

/// <summary>
/// Per-op overhead of the binding: many tiny ops, where the time is the call path (managed → native →
/// dispatcher → result handle), not the arithmetic. benchmarks/op_overhead.py runs the same loops in PyTorch.
/// Each loop runs in <see cref="Rounds"/> rounds alternating with its C++ twin, and the fastest round of each counts:
/// on a shared machine the minimum is what the code costs, the rest is other tenants.
/// </summary>
public static class OpOverheadBenchmark
{
    public const int Rounds = 30;

    public static IReadOnlyList<OpTiming> Run(long iterations = 100_000)
    {
        torch.set_num_threads(1); // same as the Python side: overhead, not parallel speed-up
        using var a = torch.ones([4]);
        using var b = torch.ones([4]);
        using var m1 = torch.randn([64, 64]);
        using var m2 = torch.randn([64, 64]);
        return
        [
            Time("add 4-element tensors", iterations, () => { using var _ = a.add(b); }, 0, a, b),
            Time("add with a dispose scope per op", iterations, () => { using var s = torch.NewDisposeScope(); a.add(b); }, 0, a, b),
            Time("matmul 64x64", iterations / 10, () => { using var _ = m1.matmul(m2); }, 1, m1, m2),
            Time("in-place add_", iterations, () => a.add_(b), 2, a, b),
        ];
    }

    private static OpTiming Time(string name, long n, Action op, int nativeKind, Tensor x, Tensor y)
    {
        long perRound = Math.Max(1, n / Rounds);
        for (int i = 0; i < 1000; i++) op(); // warm up JIT and allocator
        double best = double.MaxValue, bestNative = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            bestNative = Math.Min(bestNative, TorchBenchmark.NativeLoop(nativeKind, x, y, perRound));
            var sw = Stopwatch.StartNew();
            for (long i = 0; i < perRound; i++) op();
            sw.Stop();
            best = Math.Min(best, sw.Elapsed.TotalNanoseconds / perRound);
        }
        return new OpTiming(name, perRound * Rounds, best, bestNative);
    }
}
