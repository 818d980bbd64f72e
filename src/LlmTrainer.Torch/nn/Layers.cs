namespace LlmTrainer.Torch;

public static partial class nn
{
    /// <summary>y = x Wᵀ + b, with W of shape (out_features, in_features) as in PyTorch.</summary>
    public sealed class Linear : Module<Tensor, Tensor>
    {
        public Parameter weight { get; }
        public Parameter? bias { get; }

        public Linear(long in_features, long out_features, bool hasBias = true, Device? device = null, ScalarType dtype = ScalarType.Float32)
        {
            // PyTorch's default: U(-1/√in, 1/√in) for both weight and bias.
            double bound = 1.0 / Math.Sqrt(in_features);
            weight = register_parameter("weight", new Parameter(torch.empty([out_features, in_features], dtype, device).uniform_(-bound, bound)));
            if (hasBias)
                bias = register_parameter("bias", new Parameter(torch.empty([out_features], dtype, device).uniform_(-bound, bound)));
        }

        public override Tensor forward(Tensor input) => functional.linear(input, weight, bias);
    }

    public sealed class Embedding : Module<Tensor, Tensor>
    {
        public Parameter weight { get; }

        public Embedding(long num_embeddings, long embedding_dim, Device? device = null, ScalarType dtype = ScalarType.Float32)
        {
            weight = register_parameter("weight", new Parameter(torch.randn([num_embeddings, embedding_dim], dtype, device)));
        }

        public override Tensor forward(Tensor input) => functional.embedding(input, weight);
    }

    /// <summary>Root-mean-square layer norm (Zhang &amp; Sennrich) with a learned scale, as in LLaMA.</summary>
    public sealed class RMSNorm : Module<Tensor, Tensor>
    {
        public Parameter weight { get; }
        public double eps { get; }

        public RMSNorm(long dim, double eps = 1e-5, Device? device = null, ScalarType dtype = ScalarType.Float32)
        {
            this.eps = eps;
            weight = register_parameter("weight", new Parameter(torch.ones([dim], dtype, device)));
        }

        public override Tensor forward(Tensor input) => functional.rms_norm(input, weight, eps);
    }

    public sealed class Dropout : Module<Tensor, Tensor>
    {
        public double p { get; }

        public Dropout(double p = 0.5)
        {
            if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
            this.p = p;
        }

        /// <summary>As in PyTorch, the input itself when nothing is dropped (p = 0 or eval mode): no native call.</summary>
        public override Tensor forward(Tensor input) => p == 0 || !training ? input : functional.dropout(input, p, training);
    }

    /// <summary>An ordered list of submodules registered as "0", "1", … (so parameters are named layers.0.…).</summary>
    public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
    {
        private readonly List<T> items = new();

        public ModuleList(IEnumerable<T>? modules = null)
        {
            if (modules is null) return;
            foreach (var m in modules) Add(m);
        }

        public void Add(T module) => items.Add(register_module(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));

        public T this[int index] => items[index];

        public int Count => items.Count;

        public IEnumerator<T> GetEnumerator() => items.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
