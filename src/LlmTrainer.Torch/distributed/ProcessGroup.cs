using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class torch
{
    public static partial class distributed
    {
        public enum Backend
        {
            Gloo = 0,
            Nccl = 1,
        }

        public enum ReduceOp
        {
            SUM = 0,
            MAX = 1,
        }

        /// <summary>Whether the native library was built with the backend (Gloo needs Gloo's headers at build time, NCCL a CUDA libtorch with NCCL).</summary>
        public static bool is_backend_available(Backend backend) => (llm_dist_backends() & (1 << (int)backend)) != 0;

        /// <summary>
        /// A group of <see cref="size"/> processes that run collectives together (c10d's ProcessGroupGloo or
        /// ProcessGroupNCCL), met through a store. A collective fails when its timeout passes, and at once when a peer's
        /// connection closes (the peer exited).
        /// </summary>
        public sealed class ProcessGroup : IDisposable
        {
            private IntPtr handle;

            /// <param name="prefix">The group's keys in the store: groups made over one store need different prefixes.</param>
            /// <param name="master">The rendezvous host, which picks Gloo's network interface (loopback for a local run).</param>
            public ProcessGroup(TCPStore store, string prefix, Backend backend, int rank, int size, TimeSpan timeout, string master)
            {
                if (size < 1 || rank < 0 || rank >= size)
                    throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} is not in a group of {size}");
                Check(llm_pg_new(store.Handle, prefix, (int)backend, rank, size, (long)timeout.TotalMilliseconds, master, out handle));
                this.backend = backend;
                this.rank = rank;
                this.size = size;
            }

            public readonly Backend backend;
            public readonly int rank;
            public readonly int size;

            internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(ProcessGroup));

            /// <summary>Reduces each tensor in place across the group and waits for it.</summary>
            public unsafe void all_reduce(ReduceOp op, params Tensor[] tensors)
            {
                var ptrs = Tensor.Handles(tensors);
                fixed (IntPtr* p = ptrs) Check(llm_pg_allreduce(Handle, p, ptrs.Length, (int)op));
                GC.KeepAlive(tensors);
            }

            /// <summary>Every rank's tensors take the values of rank <paramref name="src"/>'s.</summary>
            public unsafe void broadcast(IReadOnlyList<Tensor> tensors, int src)
            {
                var ptrs = Tensor.Handles(tensors);
                fixed (IntPtr* p = ptrs) Check(llm_pg_broadcast(Handle, p, ptrs.Length, src));
                GC.KeepAlive(tensors);
            }

            public void barrier() => Check(llm_pg_barrier(Handle));

            public void Dispose()
            {
                var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
                if (h != IntPtr.Zero) llm_pg_free(h);
            }
        }
    }
}
