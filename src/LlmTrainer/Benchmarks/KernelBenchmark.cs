using System.Diagnostics;
using LlmTrainer.Config;
using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Benchmarks;

/// <summary>One op of a training step timed forward and forward+backward, on two paths.</summary>
/// <param name="Llmtrain">llmtrain's path (its fused kernel or explicit attention), ms.</param>
/// <param name="Libtorch">libtorch's own op(s), ms.</param>
public sealed record KernelTiming(string Op, string Pass, double Llmtrain, double Libtorch)
{
    /// <summary>Libtorch time over llmtrain time: above 1, llmtrain's path is faster.</summary>
    public double Ratio => Libtorch / Llmtrain;
}

/// <summary>
/// The ops a LLaMA training step is made of — attention, RMSNorm, rotary embedding, SwiGLU, cross-entropy, AdamW — each
/// timed on llmtrain's path and on libtorch's, at the shapes of a config, so the default per device can be chosen
/// with numbers. The two paths alternate for <c>rounds</c> rounds and the fastest round of each counts.
/// </summary>
public static class KernelBenchmark
{
    public static IReadOnlyList<KernelTiming> Run(TrainConfig cfg, int rounds = 5, int iterations = 3)
    {
        var device = Device.Parse(cfg.Device);
        var shape = cfg.ToModelConfig();
        int b = cfg.BatchSize, t = cfg.BlockSize, d = shape.DModel, h = shape.NHead, hkv = shape.NKvHead, hd = shape.HeadDim;
        var results = new List<KernelTiming>();
        bool fusedBefore = torch.fused_kernels;
        try
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn([b, t, d], device: device);
            var w = torch.ones([d], device: device);
            var q = torch.randn([b, h, t, hd], device: device);
            var k = torch.randn([b, hkv, t, hd], device: device);
            var v = torch.randn([b, hkv, t, hd], device: device);
            var gate = torch.randn([b, t, shape.FfnHidden], device: device);
            var up = torch.randn([b, t, shape.FfnHidden], device: device);
            var logits = torch.randn([b * t, cfg.VocabSize], device: device);
            var targets = torch.randint(0, cfg.VocabSize, [b * t]).to(device);
            var cos = torch.randn([t, hd], device: device);
            var sin = torch.randn([t, hd], device: device);

            // Each op: (name, fused path?, forward on leaf inputs).
            void Op(string name, Func<Tensor[], Tensor> f, Action<bool> choose, params Tensor[] inputs)
            {
                var fwd = new double[2];
                var both = new double[2];
                Array.Fill(fwd, double.MaxValue);
                Array.Fill(both, double.MaxValue);
                for (int r = 0; r < rounds; r++)
                {
                    for (int path = 0; path < 2; path++)
                    {
                        choose(path == 0);
                        fwd[path] = Math.Min(fwd[path], Time(device, iterations, () =>
                        {
                            using var s = torch.NewDisposeScope();
                            using var _ = torch.no_grad();
                            f(inputs);
                        }));
                        both[path] = Math.Min(both[path], Time(device, iterations, () =>
                        {
                            using var s = torch.NewDisposeScope();
                            var leaves = inputs.Select(i => i.dtype != ScalarType.Int64 ? i.detach().requires_grad_(true) : i).ToArray();
                            var y = f(leaves);
                            y.backward(torch.ones_like(y));
                        }));
                    }
                }
                results.Add(new KernelTiming(name, "forward", fwd[0], fwd[1]));
                results.Add(new KernelTiming(name, "forward+backward", both[0], both[1]));
            }

            void Fused(bool on) => torch.fused_kernels = on;
            Op("attention (causal)", a => F.scaled_dot_product_attention(a[0], a[1], a[2], is_causal: true), Fused, q, k, v);
            Op("rms_norm", a => F.rms_norm(a[0], a[1], cfg.NormEps), Fused, x, w);
            Op("rotary embedding", a => F.apply_rotary_emb(a[0], a[1], a[2]), Fused, q, cos.requires_grad_(false), sin.requires_grad_(false));
            Op("swiglu", a => F.swiglu(a[0], a[1]), Fused, gate, up);
            Op("cross_entropy", a => F.cross_entropy(a[0], a[1]), Fused, logits, targets);
        }
        finally
        {
            torch.fused_kernels = fusedBefore;
        }
        results.AddRange(AdamW(cfg, device, rounds, iterations));
        return results;
    }

    /// <summary>One AdamW step over parameters of the config's model size: llmtrain's one-pass kernel against libtorch's two.</summary>
    private static IEnumerable<KernelTiming> AdamW(TrainConfig cfg, Device device, int rounds, int iterations)
    {
        using var scope = torch.NewDisposeScope();
        long total = cfg.ToModelConfig().TotalParameters;
        // A handful of big matrices of the model's total size: what the step's memory traffic depends on.
        const int pieces = 8;
        var ps = Enumerable.Range(0, pieces).Select(_ => new Parameter(torch.randn([total / pieces], device: device))).ToList();
        foreach (var p in ps) p.grad = torch.randn([total / pieces], device: device);
        var available = new List<optim.AdamWKernel>();
        foreach (var kernel in new[] { optim.AdamWKernel.OnePass, optim.AdamWKernel.Foreach, optim.AdamWKernel.Libtorch })
        {
            using var probe = new optim.AdamW(ps) { Kernel = kernel };
            try { probe.step(); available.Add(kernel); }
            catch (TorchException) { } // not on this device or libtorch
        }
        var best = new Dictionary<optim.AdamWKernel, double>();
        using var opt = new optim.AdamW(ps, lr: 1e-4);
        for (int r = 0; r < rounds; r++)
        {
            foreach (var kernel in available)
            {
                opt.Kernel = kernel;
                double ms = Time(device, iterations, opt.step);
                best[kernel] = Math.Min(best.GetValueOrDefault(kernel, double.MaxValue), ms);
            }
        }
        foreach (var p in ps) { p.grad = null; p.Dispose(); }
        if (!best.TryGetValue(optim.AdamWKernel.OnePass, out var onePass)) yield break; // llmtrain has no AdamW kernel of its own here
        yield return new KernelTiming("adamw (vs _foreach_)", "step", onePass, best[optim.AdamWKernel.Foreach]);
        if (best.TryGetValue(optim.AdamWKernel.Libtorch, out var libtorch))
            yield return new KernelTiming("adamw (vs _fused_adamw_)", "step", onePass, libtorch);
    }

    private static double Time(Device device, int iterations, Action body)
    {
        body(); // warm-up: first-touch allocations, lazy initialisation
        if (device.IsCuda) torch.cuda.synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++) body();
        if (device.IsCuda) torch.cuda.synchronize();
        return sw.Elapsed.TotalMilliseconds / iterations;
    }
}
