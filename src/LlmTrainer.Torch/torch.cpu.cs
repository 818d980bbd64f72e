using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class torch
{
    /// <summary>
    /// The CPU caching allocator (libtorch 1.x builds): freed blocks of 1 MiB or more are kept by size for the next
    /// tensor of that size, so a training step does not fault in fresh pages for its big activations each time.
    /// LLMTRAIN_CPU_CACHE=0 turns it off; with libtorch 2.x libtorch's own allocator is used and these report 0.
    /// </summary>
    public static class cpu
    {
        /// <summary>Bytes of freed blocks held for reuse.</summary>
        public static long memory_reserved() => llm_cpu_cached_bytes();

        /// <summary>Returns the held blocks to the system.</summary>
        public static void empty_cache() => llm_cpu_empty_cache();
    }
}
