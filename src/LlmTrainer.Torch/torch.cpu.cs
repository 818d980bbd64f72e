using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class torch
{
    /// <summary>
    /// The CPU caching allocator: freed blocks of 1 MiB or more are kept by size for the next tensor of that size, so
    /// a training step does not fault in fresh pages for its big activations each time. LLMTRAIN_CPU_CACHE=0 turns the
    /// caching off. It also counts the bytes CPU tensors hold, as torch.cuda.memory_allocated does on the GPU.
    /// </summary>
    public static class cpu
    {
        /// <summary>Bytes of freed blocks held for reuse.</summary>
        public static long memory_reserved() => llm_cpu_cached_bytes();

        /// <summary>Returns the held blocks to the system.</summary>
        public static void empty_cache() => llm_cpu_empty_cache();

        /// <summary>Bytes held by CPU tensors now.</summary>
        public static long memory_allocated() => llm_cpu_memory_allocated();

        /// <summary>The most bytes CPU tensors held at once since the start or <see cref="reset_peak_memory_stats"/>.</summary>
        public static long max_memory_allocated() => llm_cpu_max_memory_allocated();

        /// <summary>Whether this libtorch trains in bfloat16 on the CPU under autocast (libtorch 2.x).</summary>
        public static bool supports_bfloat16_autocast() => llm_cpu_bf16_autocast() != 0;

        /// <summary>Starts the peak again from what is allocated now.</summary>
        public static void reset_peak_memory_stats() => llm_cpu_reset_peak_memory_stats();
    }
}
