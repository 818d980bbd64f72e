using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>
/// The C ABI of libllmtorch (src/LlmTrainer.Native). Functions returning int report a status
/// (0 ok, 1 error, 2 out of memory) that <see cref="Check"/> turns into an exception.
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
            llm_set_num_threads(n);
        else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            llm_set_num_threads(Environment.ProcessorCount);
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
    [LibraryImport(Lib)] public static partial int llm_like(int kind, TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_from_data(void* data, long nbytes, long* shape, int ndim, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_copy_to_host(TensorHandle t, void* dst, long nbytes);
    [LibraryImport(Lib)] public static partial int llm_copy_from_host(TensorHandle t, void* src, long nbytes);
    [LibraryImport(Lib)] public static partial int llm_item(TensorHandle t, out double f, out long i);
    [LibraryImport(Lib)] public static partial int llm_dim(TensorHandle t);
    [LibraryImport(Lib)] public static partial void llm_shape(TensorHandle t, long* result);
    [LibraryImport(Lib)] public static partial void llm_strides(TensorHandle t, long* result);
    [LibraryImport(Lib)] public static partial long llm_numel(TensorHandle t);
    [LibraryImport(Lib)] public static partial int llm_dtype(TensorHandle t);
    [LibraryImport(Lib)] public static partial void llm_device(TensorHandle t, out int type, out int index);
    [LibraryImport(Lib)] public static partial int llm_is_contiguous(TensorHandle t);
    [LibraryImport(Lib)] public static partial int llm_element_size(int dtype);
    [LibraryImport(Lib)] public static partial int llm_tensor_alias(TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_to(TensorHandle t, int dtype, int dev, int idx, int nonBlocking, int copy, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_set_data(TensorHandle t, TensorHandle data);
    [LibraryImport(Lib)] public static partial int llm_tensor_to_string(TensorHandle t, byte* buf, int cap);

    // ops.cpp
    [LibraryImport(Lib)] public static partial int llm_unary(int op, TensorHandle a, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_unary_(int op, TensorHandle a);
    [LibraryImport(Lib)] public static partial int llm_binary(int op, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_binary_scalar(int op, TensorHandle a, double f, long i, int isInt, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_add_scaled(TensorHandle a, TensorHandle b, double alpha, int subtract, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_binary_(int op, TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(Lib)] public static partial int llm_scalar_(int op, TensorHandle a, double f, long i, int isInt);
    [LibraryImport(Lib)] public static partial int llm_reduce(int op, TensorHandle a, long* dims, int ndims, int keepdim, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_max_dim(TensorHandle a, long dim, int keepdim, int isMin, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_topk(TensorHandle a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_sort(TensorHandle a, long dim, int descending, int stable, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] public static partial int llm_cumsum(TensorHandle a, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_softmax(TensorHandle a, long dim, int log, int dtype, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_where(TensorHandle cond, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_masked_fill(TensorHandle a, TensorHandle mask, double f, long i, int isInt, int inplace, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_tri(TensorHandle a, long diagonal, int upper, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_clamp(TensorHandle a, int hasMin, double lo, int hasMax, double hi, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_addc(TensorHandle a, TensorHandle b, TensorHandle c, double value, int div, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_view(TensorHandle a, long* shape, int ndim, int reshape, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_expand(TensorHandle a, long* shape, int ndim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_permute(TensorHandle a, long* dims, int ndim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_transpose(TensorHandle a, long d0, long d1, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_narrow(TensorHandle a, long dim, long start, long length, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_slice(TensorHandle a, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_select(TensorHandle a, long dim, long index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_index_select(TensorHandle a, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_gather(TensorHandle a, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_scatter(TensorHandle a, long dim, TensorHandle index, TensorHandle src, int inplace, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_index_copy_(TensorHandle a, long dim, TensorHandle index, TensorHandle src);
    [LibraryImport(Lib)] public static partial int llm_cat(IntPtr* tensors, int n, long dim, int stack, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_split(TensorHandle a, long size, long dim, int chunks, IntPtr* outs, int cap, out int n);
    [LibraryImport(Lib)] public static partial int llm_unsqueeze(TensorHandle a, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_squeeze(TensorHandle a, long dim, int all, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_flatten(TensorHandle a, long start, long end, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_repeat_interleave(TensorHandle a, long repeats, long dim, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_repeat(TensorHandle a, long* repeats, int n, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_allclose(TensorHandle a, TensorHandle b, double rtol, double atol, out int result);
    [LibraryImport(Lib)] public static partial int llm_equal(TensorHandle a, TensorHandle b, out int result);

    // nn.cpp
    [LibraryImport(Lib)] public static partial int llm_embedding(TensorHandle weight, TensorHandle indices, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_linear(TensorHandle x, TensorHandle w, TensorHandle b, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_rms_norm(TensorHandle x, TensorHandle weight, double eps, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_dropout(TensorHandle x, double p, int train, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_cross_entropy(TensorHandle logits, TensorHandle target, long ignoreIndex, int reduction, double labelSmoothing, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_sdpa(TensorHandle q, TensorHandle k, TensorHandle v, TensorHandle mask, double dropoutP, int isCausal, double scale, int explicitPath, out IntPtr result);

    // autograd.cpp
    [LibraryImport(Lib)] public static partial int llm_requires_grad(TensorHandle t);
    [LibraryImport(Lib)] public static partial int llm_set_requires_grad(TensorHandle t, int value);
    [LibraryImport(Lib)] public static partial int llm_backward(TensorHandle t, TensorHandle grad, int retainGraph);
    [LibraryImport(Lib)] public static partial int llm_grad(TensorHandle t, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_set_grad(TensorHandle t, TensorHandle grad);
    [LibraryImport(Lib)] public static partial int llm_is_leaf(TensorHandle t);
    [LibraryImport(Lib)] public static partial int llm_grad_enabled();
    [LibraryImport(Lib)] public static partial void llm_set_grad_enabled(int enabled);
    [LibraryImport(Lib)] public static partial int llm_inference_mode_enter(out IntPtr guard);
    [LibraryImport(Lib)] public static partial void llm_inference_mode_exit(IntPtr guard);
    [LibraryImport(Lib)] public static partial int llm_is_inference_mode();
    [LibraryImport(Lib)] public static partial int llm_autocast_enter(int dtype, out int prevEnabled, out int prevDtype);
    [LibraryImport(Lib)] public static partial int llm_autocast_exit(int prevEnabled, int prevDtype);
    [LibraryImport(Lib)] public static partial int llm_autocast_is_enabled();

    // optim.cpp
    [LibraryImport(Lib)] public static partial int llm_adamw_step(IntPtr* parameters, IntPtr* expAvgs, IntPtr* expAvgSqs, int n, double lr, double beta1, double beta2, double eps, double weightDecay, long step, int allowFused);
    [LibraryImport(Lib)] public static partial int llm_clip_grad_norm(IntPtr* parameters, int n, double maxNorm, double normType, out double total);
    [LibraryImport(Lib)] public static partial int llm_zero_grad(IntPtr* parameters, int n, int setToNone);

    // rng.cpp
    [LibraryImport(Lib)] public static partial void llm_manual_seed(long seed);
    [LibraryImport(Lib)] public static partial int llm_generator_new(long seed, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_generator_default(int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial void llm_generator_free(IntPtr g);
    [LibraryImport(Lib)] public static partial int llm_generator_seed(IntPtr g, long seed);
    [LibraryImport(Lib)] public static partial int llm_generator_get_state(IntPtr g, byte* buf, long cap, out long size);
    [LibraryImport(Lib)] public static partial int llm_generator_set_state(IntPtr g, byte* buf, long size);
    [LibraryImport(Lib)] public static partial int llm_random(int kind, long* shape, int ndim, IntPtr g, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_randint(long low, long high, long* shape, int ndim, IntPtr g, int dtype, int dev, int idx, out IntPtr result);
    [LibraryImport(Lib)] public static partial int llm_random_(int kind, TensorHandle t, double a, double b, IntPtr g);
    [LibraryImport(Lib)] public static partial int llm_multinomial(TensorHandle probs, long n, int replacement, IntPtr g, out IntPtr result);

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
    [LibraryImport(Lib)] public static partial int llm_bench_loop(int kind, TensorHandle a, TensorHandle b, long iters, out double nsPerOp);
}
