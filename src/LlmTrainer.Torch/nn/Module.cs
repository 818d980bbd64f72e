namespace LlmTrainer.Torch;

public static partial class nn
{
    /// <summary>
    /// Base of every layer: owns its parameters and submodules (registered explicitly, in order),
    /// names them with dotted paths like PyTorch, and disposes them with itself.
    /// </summary>
    public abstract class Module : IDisposable
    {
        private readonly List<(string Name, Parameter Parameter)> ownParameters = new();
        private readonly List<(string Name, Module Module)> ownModules = new();
        private readonly List<(string Name, Tensor Buffer)> ownBuffers = new();
        private bool disposed;

        public bool training { get; private set; } = true;

        protected Parameter register_parameter(string name, Parameter parameter)
        {
            CheckName(name);
            ownParameters.Add((name, parameter));
            return parameter;
        }

        protected T register_module<T>(string name, T module) where T : Module
        {
            CheckName(name);
            ownModules.Add((name, module));
            return module;
        }

        /// <summary>A non-trainable tensor owned by the module (moved by <see cref="to(Device)"/>, not in state_dict).</summary>
        protected Tensor register_buffer(string name, Tensor buffer)
        {
            CheckName(name);
            buffer.DetachFromDisposeScope();
            ownBuffers.Add((name, buffer));
            return buffer;
        }

        private void CheckName(string name)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('.'))
                throw new ArgumentException($"invalid parameter or module name '{name}'");
            if (ownParameters.Any(p => p.Name == name) || ownModules.Any(m => m.Name == name) || ownBuffers.Any(b => b.Name == name))
                throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
        }

        public IEnumerable<(string name, Parameter parameter)> named_parameters(string prefix = "")
        {
            foreach (var (name, p) in ownParameters) yield return (prefix + name, p);
            foreach (var (name, m) in ownModules)
                foreach (var item in m.named_parameters(prefix + name + "."))
                    yield return item;
        }

        public IEnumerable<Parameter> parameters() => named_parameters().Select(p => p.parameter);

        public IEnumerable<(string name, Module module)> named_modules(string prefix = "")
        {
            foreach (var (name, m) in ownModules)
            {
                yield return (prefix + name, m);
                foreach (var item in m.named_modules(prefix + name + ".")) yield return item;
            }
        }

        protected IEnumerable<(string name, Tensor buffer)> named_buffers(string prefix = "")
        {
            foreach (var (name, b) in ownBuffers) yield return (prefix + name, b);
            foreach (var (name, m) in ownModules)
                foreach (var item in m.named_buffers(prefix + name + "."))
                    yield return item;
        }

        /// <summary>Parameters by name. The tensors are the module's own: read or copy them, do not dispose them.</summary>
        public Dictionary<string, Tensor> state_dict() => named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

        /// <summary>
        /// Copies values into the parameters (shape must match; dtype and device are converted).
        /// With <paramref name="strict"/>, missing and unexpected names are errors.
        /// </summary>
        public void load_state_dict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
        {
            var own = named_parameters().ToDictionary(p => p.name, p => p.parameter);
            if (strict)
            {
                var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
                var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
                if (missing.Count > 0 || unexpected.Count > 0)
                    throw new ArgumentException(
                        $"state_dict does not match {GetType().Name}: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
            }
            using var _ = torch.no_grad();
            foreach (var (name, p) in own)
            {
                if (!state.TryGetValue(name, out var src)) continue;
                if (!p.shape.SequenceEqual(src.shape))
                    throw new ArgumentException($"{name}: shape [{string.Join(", ", src.shape)}] does not match the parameter's [{string.Join(", ", p.shape)}]");
                p.copy_(src);
            }
        }

        public Module train(bool mode = true)
        {
            training = mode;
            foreach (var (_, m) in ownModules) m.train(mode);
            return this;
        }

        public Module eval() => train(false);

        /// <summary>Moves (and optionally casts) every parameter and buffer in place: the Parameter objects stay the same.</summary>
        public Module to(Device device, ScalarType? dtype = null)
        {
            foreach (var (_, p) in named_parameters())
                Move(p, device, dtype is { } d && p.dtype.IsFloatingPoint() ? d : null);
            foreach (var (_, b) in named_buffers())
                Move(b, device, dtype is { } d && b.dtype.IsFloatingPoint() ? d : null);
            return this;
        }

        public Module to(ScalarType dtype)
        {
            foreach (var (_, p) in named_parameters())
                if (p.dtype.IsFloatingPoint()) Move(p, p.device, dtype);
            return this;
        }

        private static void Move(Tensor t, Device device, ScalarType? dtype)
        {
            if (t.device == device && (dtype is null || t.dtype == dtype)) return;
            using var moved = dtype is { } d ? t.to(device, d) : t.to(device);
            t.set_data(moved);
        }

        public void zero_grad(bool set_to_none = true) => optim.ZeroGrad(parameters().ToList(), set_to_none);

        public long num_parameters() => parameters().Sum(p => p.numel());

        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Disposes parameters, buffers and submodules; a module that owns other tensors overrides this and calls base.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (disposed || !disposing) return;
            disposed = true;
            foreach (var (_, p) in ownParameters) p.Dispose();
            foreach (var (_, b) in ownBuffers) b.Dispose();
            foreach (var (_, m) in ownModules) m.Dispose();
        }
    }

    /// <summary>A module with a single-input forward, like most PyTorch layers.</summary>
    public abstract class Module<TIn, TOut> : Module
    {
        public abstract TOut forward(TIn input);

        public TOut call(TIn input) => forward(input);
    }
}
