using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

/// <summary>The native side of the op-overhead benchmark: a loop the binding's per-op cost is measured against.</summary>
public static class TorchBenchmark
{
    /// <summary>ns per op of a tiny-op loop run entirely in C++ (0 add, 1 matmul, 2 add_): the no-binding baseline.</summary>
    public static double NativeLoop(int kind, Tensor a, Tensor b, long iterations)
    {
        Check(llm_bench_loop(kind, a, b, iterations, out var ns));
        return ns;
    }
}
