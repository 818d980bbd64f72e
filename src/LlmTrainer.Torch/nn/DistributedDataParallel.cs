using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class nn
{
    public static partial class parallel
    {
        /// <summary>What the last synchronised backward's all-reduce did.</summary>
        /// <param name="BucketsDuringBackward">Buckets whose all-reduce started while backward was still running.</param>
        /// <param name="Buckets">Buckets in all.</param>
        /// <param name="WaitSeconds">Time spent after backward launching the rest and waiting for every bucket: the communication backward did not hide.</param>
        /// <param name="AllReduceSeconds">From the first bucket's all-reduce starting to the last one's finishing; null where the backend reports no completion times.</param>
        public sealed record ReduceStats(int BucketsDuringBackward, int Buckets, double WaitSeconds, double? AllReduceSeconds);

        /// <summary>
        /// PyTorch's DistributedDataParallel gradient synchronisation for a model replicated on every rank: gradients are
        /// averaged across the group in flat buckets of about <c>bucket_cap_mb</c>, each started as soon as autograd has
        /// accumulated all of its gradients (with <c>overlap</c>), so communication runs during backward. Call
        /// <see cref="prepare"/> before each micro-step's backward (sync only on the last one: the micro-steps before it
        /// accumulate locally, as under no_sync()) and <see cref="finish"/> after the last one.
        /// </summary>
        public sealed class DistributedDataParallel : IDisposable
        {
            private IntPtr handle;

            public unsafe DistributedDataParallel(torch.distributed.ProcessGroup group, IReadOnlyList<Tensor> parameters, double bucket_cap_mb = 25, bool overlap = true)
            {
                var ptrs = Tensor.Handles(parameters);
                fixed (IntPtr* p = ptrs)
                    Check(llm_ddp_new(group.Handle, p, ptrs.Length, (long)(bucket_cap_mb * 1024 * 1024), overlap ? 1 : 0, out handle));
                GC.KeepAlive(parameters);
                Group = group;
            }

            public torch.distributed.ProcessGroup Group { get; }

            private IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(DistributedDataParallel));

            public void prepare(bool sync) => Check(llm_ddp_prepare(Handle, sync ? 1 : 0));

            /// <summary>Completes the all-reduce: every parameter's gradient is the mean of the ranks' gradients.</summary>
            public unsafe ReduceStats finish()
            {
                var stats = stackalloc double[4];
                Check(llm_ddp_finish(Handle, stats));
                return new ReduceStats((int)stats[0], (int)stats[1], stats[2], stats[3] > 0 ? stats[3] : null);
            }

            public void Dispose()
            {
                var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
                if (h != IntPtr.Zero) llm_ddp_free(h);
            }
        }
    }
}
