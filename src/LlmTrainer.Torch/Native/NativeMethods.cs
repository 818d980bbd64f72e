using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>
/// The C ABI of libllmtorch (src/LlmTrainer.Native). Every exported function either returns an int status (0 ok,
/// 1 error, 2 out of memory; <see cref="Check"/> turns it into an exception) with its results in out-parameters, or is
/// noexcept in the shim and returns its value directly (queries such as llm_dim, llm_numel, llm_requires_grad).
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string Lib = "llmtorch";

    static NativeMethods()
    {
        NativeLibraryResolver.Register();
        // Debian's libtorch starts with one intra-op thread; use every core unless told otherwise.
        var requested = Environment.GetEnvironmentVariable("LLMTRAIN_THREADS");
        if (int.TryParse(requested, out var n) && n > 0)
            Check(llm_set_num_threads(n));
        else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            Check(llm_set_num_threads(Environment.ProcessorCount));
    }

    public static void Check(int status)
    {
        if (status == 0) return;
        var message = Marshal.PtrToStringUTF8(llm_last_error()) ?? "unknown native error";
        if (status == 2) throw new TorchOutOfMemoryException(message);
        throw new TorchException(message);
    }

    // tensor.cpp
    [LibraryImport(Lib)] public static partial IntPtr llm_last_error();
    [LibraryImport(Lib)] public static partial long llm_live_tensors();
    [LibraryImport(Lib)] public static partial void llm_tensor_free(IntPtr t);
    [LibraryImport(Lib)] public static partial int llm_empty(long* shape, int ndim, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_zeros(long* shape, int ndim, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_ones(long* shape, int ndim, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_full(long* shape, int ndim, double f, long i, int isInt, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_arange(double start, double end, double step, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_like(int kind, Tensor t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_copy_to_host(Tensor t, void* dst, long nbytes);
    [LibraryImport(Lib)] public static partial int llm_copy_from_host(Tensor t, void* src, long nbytes);
    [LibraryImport(Lib)] public static partial int llm_item(Tensor t, out double f, out long i);
    [LibraryImport(Lib)] public static partial int llm_dim(Tensor t);
    [LibraryImport(Lib)] public static partial void llm_shape(Tensor t, long* result);
    [LibraryImport(Lib)] public static partial void llm_strides(Tensor t, long* result);
    [LibraryImport(Lib)] public static partial long llm_numel(Tensor t);
    [LibraryImport(Lib)] public static partial int llm_dtype(Tensor t);
    [LibraryImport(Lib)] public static partial void llm_device(Tensor t, out int type, out int index);
    [LibraryImport(Lib)] public static partial int llm_is_contiguous(Tensor t);
    [LibraryImport(Lib)] public static partial int llm_is_pinned(Tensor t, out int pinned);
    [LibraryImport(Lib)] public static partial int llm_pin_memory(Tensor t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_tensor_alias(Tensor t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_to(Tensor t, int dtype, int dev, int idx, int nonBlocking, int copy, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_set_data(Tensor t, Tensor data);
    [LibraryImport(Lib)] public static partial int llm_tensor_to_string(Tensor t, byte* buf, int cap);

    // ops.cpp
    [LibraryImport(Lib)] public static partial int llm_unary(int op, Tensor a, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_unary_(int op, Tensor a);
    [LibraryImport(Lib)] public static partial int llm_binary(int op, Tensor a, Tensor b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_binary_scalar(int op, Tensor a, double f, long i, int isInt, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_add_scaled(Tensor a, Tensor b, double alpha, int subtract, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_binary_(int op, Tensor a, Tensor b, double alpha);
    [LibraryImport(Lib)] public static partial int llm_scalar_(int op, Tensor a, double f, long i, int isInt);
    [LibraryImport(Lib)] public static partial int llm_reduce(int op, Tensor a, long* dims, int ndims, int keepdim, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_max_dim(Tensor a, long dim, int keepdim, int isMin, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_topk(Tensor a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_sort(Tensor a, long dim, int descending, int stable, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_cumsum(Tensor a, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_softmax(Tensor a, long dim, int log, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_where(Tensor cond, Tensor a, Tensor b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_masked_fill(Tensor a, Tensor mask, double f, long i, int isInt, int inplace, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_tri(Tensor a, long diagonal, int upper, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_clamp(Tensor a, int hasMin, double lo, int hasMax, double hi, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_addc(Tensor a, Tensor b, Tensor c, double value, int div, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_view(Tensor a, long* shape, int ndim, int reshape, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_expand(Tensor a, long* shape, int ndim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_permute(Tensor a, long* dims, int ndim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_transpose(Tensor a, long d0, long d1, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_narrow(Tensor a, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_slice(Tensor a, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_select(Tensor a, long dim, long index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_index_select(Tensor a, long dim, Tensor index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_gather(Tensor a, long dim, Tensor index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_scatter(Tensor a, long dim, Tensor index, Tensor src, int inplace, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_index_add(Tensor a, long dim, Tensor index, Tensor src, double alpha, int inplace, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_bincount(Tensor a, Tensor? weights, long minlength, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_index_copy_(Tensor a, long dim, Tensor index, Tensor src);
    [LibraryImport(Lib)] public static partial int llm_cat(IntPtr* tensors, int n, long dim, int stack, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_split(Tensor a, long size, long dim, int chunks, IntPtr* outs, int cap, out int n);
    [LibraryImport(Lib)] public static partial int llm_unsqueeze(Tensor a, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_squeeze(Tensor a, long dim, int all, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_flatten(Tensor a, long start, long end, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_repeat_interleave(Tensor a, long repeats, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_repeat(Tensor a, long* repeats, int n, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_allclose(Tensor a, Tensor b, double rtol, double atol, out int result);
    [LibraryImport(Lib)] public static partial int llm_equal(Tensor a, Tensor b, out int result);

    // nn.cpp
    [LibraryImport(Lib)] public static partial int llm_embedding(Tensor weight, Tensor indices, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_linear(Tensor x, Tensor w, Tensor? b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_rms_norm(Tensor x, Tensor? weight, double eps, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_rope(Tensor x, Tensor cos, Tensor sin, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_swiglu(Tensor gate, Tensor up, out IntPtr result);
    [LibraryImport(Lib)] public static partial void llm_set_fused_kernels(int enabled);
    [LibraryImport(Lib)] public static partial int llm_fused_kernels();
    [LibraryImport(Lib)] public static partial void llm_cpu_empty_cache();
    [LibraryImport(Lib)] public static partial long llm_cpu_cached_bytes();
    [LibraryImport(Lib)] public static partial long llm_cpu_memory_allocated();
    [LibraryImport(Lib)] public static partial long llm_cpu_max_memory_allocated();
    [LibraryImport(Lib)] public static partial void llm_cpu_reset_peak_memory_stats();
    [LibraryImport(Lib)] public static partial int llm_cpu_bf16_autocast();
    [LibraryImport(Lib)] public static partial int llm_dropout(Tensor x, double p, int train, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_cross_entropy(Tensor logits, Tensor target, long ignoreIndex, int reduction, double labelSmoothing, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_sdpa(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropoutP, int isCausal, double scale, int explicitPath, out IntPtr result);

    // autograd.cpp
    [LibraryImport(Lib)] public static partial int llm_requires_grad(Tensor t);
    [LibraryImport(Lib)] public static partial int llm_autograd_backward(IntPtr* tensors, IntPtr* grads, int n);
    [LibraryImport(Lib)] public static partial int llm_set_requires_grad(Tensor t, int value);
    [LibraryImport(Lib)] public static partial int llm_backward(Tensor t, Tensor? grad, int retainGraph);
    [LibraryImport(Lib)] public static partial int llm_grad(Tensor t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_set_grad(Tensor t, Tensor? grad);
    [LibraryImport(Lib)] public static partial int llm_is_leaf(Tensor t);
    [LibraryImport(Lib)] public static partial int llm_grad_enabled();
    [LibraryImport(Lib)] public static partial void llm_set_grad_enabled(int enabled);
    [LibraryImport(Lib)] public static partial int llm_inference_mode_enter(out IntPtr guard);
    [LibraryImport(Lib)] public static partial void llm_inference_mode_exit(IntPtr guard);
    [LibraryImport(Lib)] public static partial int llm_is_inference_mode();
    [LibraryImport(Lib)] public static partial int llm_autocast_enter(int deviceType, int dtype, out int prevEnabled, out int prevDtype);
    [LibraryImport(Lib)] public static partial int llm_autocast_exit(int deviceType, int prevEnabled, int prevDtype);
    [LibraryImport(Lib)] public static partial int llm_autocast_is_enabled(int deviceType);

    // optim.cpp
    [LibraryImport(Lib)] public static partial int llm_adamw_step(IntPtr* parameters, IntPtr* expAvgs, IntPtr* expAvgSqs, int n, double lr, double beta1, double beta2, double eps, double weightDecay, long step, int allowFused);
    [LibraryImport(Lib)] public static partial int llm_clip_grad_norm(IntPtr* parameters, int n, double maxNorm, double normType, out IntPtr total);
    [LibraryImport(Lib)] public static partial int llm_zero_grad(IntPtr* parameters, int n, int setToNone);

    // rng.cpp
    [LibraryImport(Lib)] public static partial int llm_manual_seed(long seed);

    // dist.cpp
    [LibraryImport(Lib)] public static partial int llm_dist_backends();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_store_open(string host, int port, int isServer, long timeoutMs, out IntPtr store);
    [LibraryImport(Lib)] public static partial void llm_store_free(IntPtr store);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_store_set(IntPtr store, string key, byte* value, int length);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_store_get(IntPtr store, string key, byte* buffer, int capacity, out int length);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_store_check(IntPtr store, string key, out int exists);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_store_add(IntPtr store, string key, long delta, out long value);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int llm_pg_new(IntPtr store, string prefix, int backend, int rank, int size, long timeoutMs, string master, out IntPtr group);
    [LibraryImport(Lib)] public static partial void llm_pg_free(IntPtr group);
    [LibraryImport(Lib)] public static partial int llm_pg_allreduce(IntPtr group, IntPtr* tensors, int n, int op);
    [LibraryImport(Lib)] public static partial int llm_pg_broadcast(IntPtr group, IntPtr* tensors, int n, int root);
    [LibraryImport(Lib)] public static partial int llm_pg_barrier(IntPtr group);
    [LibraryImport(Lib)] public static partial int llm_ddp_new(IntPtr group, IntPtr* parameters, int n, long bucketBytes, int overlap, out IntPtr ddp);
    [LibraryImport(Lib)] public static partial void llm_ddp_free(IntPtr ddp);
    [LibraryImport(Lib)] public static partial int llm_ddp_prepare(IntPtr ddp, int sync);
    [LibraryImport(Lib)] public static partial int llm_ddp_finish(IntPtr ddp, double* stats);
    [LibraryImport(Lib)] public static partial int llm_generator_new(long seed, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_generator_default(int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial void llm_generator_free(IntPtr g);
    [LibraryImport(Lib)] public static partial int llm_generator_seed(IntPtr g, long seed);
    [LibraryImport(Lib)] public static partial int llm_generator_get_state(IntPtr g, byte* buf, long cap, out long size);
    [LibraryImport(Lib)] public static partial int llm_generator_set_state(IntPtr g, byte* buf, long size);
    [LibraryImport(Lib)] public static partial int llm_random(int kind, long* shape, int ndim, IntPtr g, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_randint(long low, long high, long* shape, int ndim, IntPtr g, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_random_(int kind, Tensor t, double a, double b, IntPtr g);
    [LibraryImport(Lib)] public static partial int llm_multinomial(Tensor probs, long n, int replacement, IntPtr g, out IntPtr result);

    // device.cpp
    [LibraryImport(Lib)] public static partial int llm_get_num_threads();
    [LibraryImport(Lib)] public static partial int llm_set_num_threads(int n);
    [LibraryImport(Lib)] public static partial int llm_cuda_is_available();
    [LibraryImport(Lib)] public static partial int llm_cuda_device_count();
    [LibraryImport(Lib)] public static partial int llm_cuda_synchronize(int idx);
    [LibraryImport(Lib)] public static partial int llm_set_tf32(int enabled);
    [LibraryImport(Lib)] public static partial int llm_cuda_memory(int idx, int which, out long bytes);
    [LibraryImport(Lib)] public static partial int llm_cuda_reset_peak(int idx);
    [LibraryImport(Lib)] public static partial int llm_cuda_empty_cache();
    [LibraryImport(Lib)] public static partial int llm_cuda_device_info(int idx, byte* name, int cap, out long totalMemory, out int major, out int minor);

    // info.cpp
    [LibraryImport(Lib)] public static partial IntPtr llm_build_info();
    [LibraryImport(Lib)] public static partial int llm_parallel_info(byte* buf, int cap);
    [LibraryImport(Lib)] public static partial int llm_bench_loop(int kind, Tensor a, Tensor b, long iters, out double nsPerOp);
}
