using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class optim
{
    /// <summary>A set of parameters sharing hyper-parameters; lr and weight decay may change between steps.</summary>
    public sealed class ParamGroup
    {
        public ParamGroup(IEnumerable<Parameter> parameters, double? lr = null, double? weight_decay = null)
        {
            Parameters = parameters.ToList();
            LearningRate = lr;
            WeightDecay = weight_decay;
        }

        public IReadOnlyList<Parameter> Parameters { get; }

        /// <summary>Null: the optimizer's default.</summary>
        public double? LearningRate { get; set; }

        /// <summary>Null: the optimizer's default.</summary>
        public double? WeightDecay { get; set; }
    }

    /// <summary>
    /// AdamW (decoupled weight decay) with the same maths as torch.optim.AdamW. The state (exp_avg, exp_avg_sq)
    /// lives on the parameters' device and is owned by the optimizer; each group is one native call per step
    /// (the fused CUDA kernel where libtorch has it, <c>_foreach_*</c> otherwise).
    /// </summary>
    public sealed class AdamW : IDisposable
    {
        private readonly List<GroupState> groups = new();

        public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                     double weight_decay = 1e-2, bool fused = true)
            : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weight_decay, fused)
        {
        }

        public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                     double weight_decay = 1e-2, bool fused = true)
        {
            if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be non-negative");
            if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
            if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
            LearningRate = lr;
            Beta1 = beta1;
            Beta2 = beta2;
            Eps = eps;
            WeightDecay = weight_decay;
            Fused = fused;
            foreach (var g in groups) this.groups.Add(new GroupState(g));
        }

        public double LearningRate { get; set; }
        public double Beta1 { get; }
        public double Beta2 { get; }
        public double Eps { get; }
        public double WeightDecay { get; }
        public bool Fused { get; }

        /// <summary>Which implementation steps the parameters; <see cref="AdamWKernel.Auto"/> (the default) picks the fastest measured.</summary>
        public AdamWKernel Kernel { get; set; } = AdamWKernel.Auto;

        public IReadOnlyList<ParamGroup> param_groups => groups.Select(g => g.Group).ToList();

        /// <summary>Steps taken so far (the step counter of the first group).</summary>
        public long StepCount => groups.Count == 0 ? 0 : groups[0].Step;

        public unsafe void step()
        {
            foreach (var g in groups)
            {
                g.EnsureState();
                g.Step++;
                var lr = g.Group.LearningRate ?? LearningRate;
                var wd = g.Group.WeightDecay ?? WeightDecay;
                // Raw pointers are taken afresh each step so that a disposed parameter fails loudly here.
                var ps = Tensor.Handles(g.Group.Parameters);
                var ms = Tensor.Handles(g.ExpAvg);
                var vs = Tensor.Handles(g.ExpAvgSq);
                fixed (IntPtr* p = ps)
                fixed (IntPtr* m = ms)
                fixed (IntPtr* v = vs)
                    Check(llm_adamw_step(p, m, v, ps.Length, lr, Beta1, Beta2, Eps, wd, g.Step, !Fused ? 0 : Kernel switch { AdamWKernel.Foreach => 0, AdamWKernel.Libtorch => 2, AdamWKernel.OnePass => 3, _ => 1 }));
                GC.KeepAlive(g);
            }
        }

        public void zero_grad(bool set_to_none = true)
        {
            foreach (var g in groups) ZeroGrad(g.Group.Parameters, set_to_none);
        }

        /// <summary>
        /// The optimizer state by name: <c>{group}.{index}.exp_avg</c>, <c>{group}.{index}.exp_avg_sq</c>, and per group
        /// <c>{group}.step</c> as an int64 scalar tensor. Every tensor is the optimizer's own, as a module's state_dict
        /// holds the module's parameters: do not dispose them, and copy them to keep values past the next step.
        /// </summary>
        public Dictionary<string, Tensor> state_dict()
        {
            var result = new Dictionary<string, Tensor>();
            for (int gi = 0; gi < groups.Count; gi++)
            {
                var g = groups[gi];
                g.EnsureState();
                for (int i = 0; i < g.ExpAvg.Length; i++)
                {
                    result[$"{gi}.{i}.exp_avg"] = g.ExpAvg[i];
                    result[$"{gi}.{i}.exp_avg_sq"] = g.ExpAvgSq[i];
                }
                result[$"{gi}.step"] = g.StepTensor.fill_(g.Step);
            }
            return result;
        }

        /// <summary>Restores state saved by <see cref="state_dict"/> (values copied into the optimizer's own tensors).</summary>
        public void load_state_dict(IReadOnlyDictionary<string, Tensor> state)
        {
            using var _ = torch.no_grad();
            for (int gi = 0; gi < groups.Count; gi++)
            {
                var g = groups[gi];
                g.EnsureState();
                for (int i = 0; i < g.ExpAvg.Length; i++)
                {
                    Get(state, $"{gi}.{i}.exp_avg", g.ExpAvg[i]);
                    Get(state, $"{gi}.{i}.exp_avg_sq", g.ExpAvgSq[i]);
                }
                if (!state.TryGetValue($"{gi}.step", out var step))
                    throw new ArgumentException($"optimizer state has no '{gi}.step'");
                g.Step = step.item<long>();
            }
        }

        private static void Get(IReadOnlyDictionary<string, Tensor> state, string name, Tensor into)
        {
            if (!state.TryGetValue(name, out var src)) throw new ArgumentException($"optimizer state has no '{name}'");
            if (!src.shape.SequenceEqual(into.shape))
                throw new ArgumentException($"optimizer state '{name}' has shape [{string.Join(", ", src.shape)}], expected [{string.Join(", ", into.shape)}]");
            into.copy_(src);
        }

        public void Dispose()
        {
            foreach (var g in groups) g.Dispose();
        }

        private sealed class GroupState : IDisposable
        {
            public GroupState(ParamGroup group)
            {
                Group = group;
                ExpAvg = [];
                ExpAvgSq = [];
            }

            public ParamGroup Group { get; }
            public long Step { get; set; }
            public Tensor[] ExpAvg { get; private set; }
            public Tensor[] ExpAvgSq { get; private set; }

            /// <summary>The step count as a tensor for <see cref="state_dict"/>, so that every entry there is the optimizer's own.</summary>
            public Tensor StepTensor { get; } = torch.zeros([], ScalarType.Int64).DetachFromDisposeScope();

            private bool initialized;

            /// <summary>Creates zero state like each parameter (on its device) the first time it is needed.</summary>
            public void EnsureState()
            {
                if (initialized) return;
                initialized = true;
                var ps = Group.Parameters;
                ExpAvg = new Tensor[ps.Count];
                ExpAvgSq = new Tensor[ps.Count];
                for (int i = 0; i < ps.Count; i++)
                {
                    ExpAvg[i] = torch.zeros_like(ps[i]).DetachFromDisposeScope();
                    ExpAvgSq[i] = torch.zeros_like(ps[i]).DetachFromDisposeScope();
                }
            }

            public void Dispose()
            {
                foreach (var t in ExpAvg) t.Dispose();
                foreach (var t in ExpAvgSq) t.Dispose();
                StepTensor.Dispose();
            }
        }
    }

    /// <summary>Clears gradients of many parameters in one native call.</summary>
    internal static unsafe void ZeroGrad(IReadOnlyList<Tensor> parameters, bool setToNone)
    {
        var ptrs = Tensor.Handles(parameters);
        fixed (IntPtr* p = ptrs) Check(llm_zero_grad(p, ptrs.Length, setToNone ? 1 : 0));
        GC.KeepAlive(parameters);
    }

    /// <summary>AdamW implementations. All compute the same maths; they differ in passes over memory.</summary>
    public enum AdamWKernel
    {
        /// <summary>libtorch's fused kernel where it has one (CUDA from 2.0, the CPU from 2.4), else OnePass for float32 CPU tensors, else Foreach.</summary>
        Auto,

        /// <summary>libtorch's <c>_foreach_*</c> ops: nine passes over the state.</summary>
        Foreach,

        /// <summary>libtorch's <c>_fused_adamw_</c> (CUDA from 2.0, CPU from 2.4); an error where it is missing.</summary>
        Libtorch,

        /// <summary>llmtrain's one-pass loop over contiguous float32 CPU tensors; an error for others.</summary>
        OnePass,
    }
}
