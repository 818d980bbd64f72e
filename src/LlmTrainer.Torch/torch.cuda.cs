using System.Text;
using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class torch
{
    /// <summary>CUDA devices and the caching allocator (torch.cuda).</summary>
    public static class cuda
    {
        public static bool is_available() => llm_cuda_is_available() != 0;

        public static int device_count() => llm_cuda_device_count();

        public static void synchronize(int device = -1) => Check(llm_cuda_synchronize(device));

        /// <summary>Bytes held by tensors; -1 when this build has no CUDA.</summary>
        public static long memory_allocated(int device = 0) => Memory(device, 0);

        public static long max_memory_allocated(int device = 0) => Memory(device, 1);

        public static long memory_reserved(int device = 0) => Memory(device, 2);

        public static long max_memory_reserved(int device = 0) => Memory(device, 3);

        public static void reset_peak_memory_stats(int device = 0) => Check(llm_cuda_reset_peak(device));

        public static void empty_cache() => Check(llm_cuda_empty_cache());

        private static long Memory(int device, int which)
        {
            Check(llm_cuda_memory(device, which, out var bytes));
            return bytes;
        }

        public static unsafe DeviceProperties get_device_properties(int device = 0)
        {
            var name = new byte[256];
            long total;
            int major, minor;
            fixed (byte* p = name) Check(llm_cuda_device_info(device, p, name.Length, out total, out major, out minor));
            int n = Array.IndexOf(name, (byte)0);
            return new DeviceProperties(Encoding.UTF8.GetString(name, 0, n < 0 ? name.Length : n), total, major, minor);
        }

        public static string get_device_name(int device = 0) => get_device_properties(device).Name;

        /// <summary>The default CUDA generator's state, for exact resume.</summary>
        public static byte[] get_rng_state(int device = 0)
        {
            using var g = Generator.Default(Device.CUDA(device));
            return g.get_state();
        }

        public static void set_rng_state(byte[] state, int device = 0)
        {
            using var g = Generator.Default(Device.CUDA(device));
            g.set_state(state);
        }
    }

    public static class backends
    {
        /// <summary>TensorFloat-32 for float32 matmuls and convolutions on Ampere and newer GPUs.</summary>
        public static void set_allow_tf32(bool enabled) => Check(llm_set_tf32(enabled ? 1 : 0));
    }
}

/// <summary>Name, memory (bytes; -1 unknown) and compute capability of a CUDA device.</summary>
public sealed record DeviceProperties(string Name, long TotalMemory, int Major, int Minor);
