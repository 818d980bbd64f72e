// The TorchSharp side of benchmarks/torchsharp.sh: the LLaMA that `llmtrain bench train` times, written the way a
// TorchSharp user would (its nn modules, scaled_dot_product_attention, optim.AdamW, clip_grad_norm_, a dispose scope
// per step), timed on random tokens with the same shapes, AdamW settings, clipping and thread count.
//
// Usage: torchsharp-train-step RESOLVED_CONFIG_JSON STEPS WARMUP THREADS
// (the JSON is what `llmtrain bench train --json` prints as "resolved"). Prints one JSON line.
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

var c = JsonDocument.Parse(args[0]).RootElement;
int steps = int.Parse(args[1]), warmup = int.Parse(args[2]);
torch.set_num_threads(int.Parse(args[3]));
var shape = new Shape(c.GetProperty("vocab_size").GetInt32(), c.GetProperty("d_model").GetInt32(), c.GetProperty("n_layer").GetInt32(),
    c.GetProperty("n_head").GetInt32(), c.GetProperty("n_kv_head").GetInt32(), c.GetProperty("ffn_hidden").GetInt32(),
    c.GetProperty("block_size").GetInt32(), c.GetProperty("norm_eps").GetDouble(), c.GetProperty("rope_theta").GetDouble(),
    c.GetProperty("tie_embeddings").GetBoolean());
int batch = c.GetProperty("batch_size").GetInt32(), accum = c.GetProperty("grad_accum_steps").GetInt32();
if (c.GetProperty("dtype").GetString() != "float32" || c.GetProperty("dropout").GetDouble() != 0)
    throw new NotSupportedException("this benchmark runs float32 without dropout, as llmtrain does on the CPU by default");

torch.manual_seed(c.GetProperty("seed").GetInt64());
var model = new Llama(shape);
var parameters = model.parameters().ToList();
var opt = torch.optim.AdamW(
    [new AdamW.ParamGroup(parameters.Where(p => p.dim() >= 2), new AdamW.Options { weight_decay = c.GetProperty("weight_decay").GetDouble() }),
     new AdamW.ParamGroup(parameters.Where(p => p.dim() < 2), new AdamW.Options { weight_decay = 0 })],
    lr: c.GetProperty("learning_rate").GetDouble(), beta1: c.GetProperty("beta1").GetDouble(), beta2: c.GetProperty("beta2").GetDouble());
double clip = c.GetProperty("grad_clip").GetDouble();

void Step()
{
    using var scope = torch.NewDisposeScope();
    for (int micro = 0; micro < accum; micro++)
    {
        var x = torch.randint(0, shape.Vocab, [batch, shape.Block]);
        var y = torch.randint(0, shape.Vocab, [batch, shape.Block]);
        var logits = model.forward(x);
        var loss = F.cross_entropy(logits.view(-1, shape.Vocab), y.view(-1));
        (accum > 1 ? loss / accum : loss).backward();
    }
    torch.nn.utils.clip_grad_norm_(parameters, clip);
    opt.step();
    opt.zero_grad();
}

for (int i = 0; i < warmup; i++) Step();
var sw = Stopwatch.StartNew();
for (int i = 0; i < steps; i++) Step();
double ms = sw.Elapsed.TotalMilliseconds / steps;
Console.WriteLine(JsonSerializer.Serialize(new
{
    ms_per_step = Math.Round(ms, 2), tokens_per_sec = Math.Round((double)batch * shape.Block * accum / (ms / 1000), 1),
    threads = torch.get_num_threads(), parameters = parameters.Sum(p => p.numel()),
    torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(3), libtorch = torch.__version__,
}));

record Shape(int Vocab, int D, int Layers, int Heads, int KvHeads, int Ffn, int Block, double Eps, double Theta, bool Tied)
{
    public int HeadDim => D / Heads;
}

/// <summary>RMSNorm (TorchSharp 0.107 has no nn.RMSNorm): x / √(mean(x²) + ε) · weight.</summary>
sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(int d, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(torch.ones(d));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * (x.pow(2).mean([-1], keepdim: true) + eps).rsqrt() * weight;
}

/// <summary>RMSNorm → causal self-attention with rotate-half RoPE → residual → RMSNorm → SwiGLU → residual; no biases.</summary>
sealed class Layer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
    private readonly RmsNorm input_layernorm, post_attention_layernorm;
    private readonly Shape s;

    public Layer(Shape s) : base(nameof(Layer))
    {
        this.s = s;
        q_proj = nn.Linear(s.D, s.Heads * s.HeadDim, hasBias: false);
        k_proj = nn.Linear(s.D, s.KvHeads * s.HeadDim, hasBias: false);
        v_proj = nn.Linear(s.D, s.KvHeads * s.HeadDim, hasBias: false);
        o_proj = nn.Linear(s.Heads * s.HeadDim, s.D, hasBias: false);
        gate_proj = nn.Linear(s.D, s.Ffn, hasBias: false);
        up_proj = nn.Linear(s.D, s.Ffn, hasBias: false);
        down_proj = nn.Linear(s.Ffn, s.D, hasBias: false);
        input_layernorm = new RmsNorm(s.D, s.Eps);
        post_attention_layernorm = new RmsNorm(s.D, s.Eps);
        RegisterComponents();
    }

    private static Tensor Rotate(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.chunk(2, -1);
        return x * cos + torch.cat([-half[1], half[0]], -1) * sin;
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        long b = x.size(0), t = x.size(1);
        var h = input_layernorm.forward(x);
        var q = Rotate(q_proj.forward(h).view(b, t, s.Heads, s.HeadDim).transpose(1, 2), cos, sin);
        var k = Rotate(k_proj.forward(h).view(b, t, s.KvHeads, s.HeadDim).transpose(1, 2), cos, sin);
        var v = v_proj.forward(h).view(b, t, s.KvHeads, s.HeadDim).transpose(1, 2);
        if (s.KvHeads != s.Heads)
            (k, v) = (k.repeat_interleave(s.Heads / s.KvHeads, 1), v.repeat_interleave(s.Heads / s.KvHeads, 1));
        var y = F.scaled_dot_product_attention(q, k, v, is_casual: true);
        x = x + o_proj.forward(y.transpose(1, 2).contiguous().view(b, t, s.Heads * s.HeadDim));
        h = post_attention_layernorm.forward(x);
        return x + down_proj.forward(F.silu(gate_proj.forward(h)) * up_proj.forward(h));
    }
}

/// <summary>Embedding → layers → RMSNorm → LM head (the embedding's weight when tied). Initialised as llmtrain does.</summary>
sealed class Llama : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<Layer> layers;
    private readonly RmsNorm norm;
    private readonly Linear? lm_head;
    private readonly Tensor cos, sin;

    public Llama(Shape s) : base(nameof(Llama))
    {
        embed_tokens = nn.Embedding(s.Vocab, s.D);
        layers = nn.ModuleList(Enumerable.Range(0, s.Layers).Select(_ => new Layer(s)).ToArray());
        norm = new RmsNorm(s.D, s.Eps);
        if (!s.Tied) lm_head = nn.Linear(s.D, s.Vocab, hasBias: false);
        var invFreq = 1.0 / torch.pow(s.Theta, torch.arange(0, s.HeadDim, 2, ScalarType.Float64) / s.HeadDim);
        var freqs = torch.outer(torch.arange(0, s.Block, 1, ScalarType.Float64), invFreq);
        var emb = torch.cat([freqs, freqs], -1);
        cos = emb.cos().to(ScalarType.Float32);
        sin = emb.sin().to(ScalarType.Float32);
        RegisterComponents();

        double residualStd = 0.02 / Math.Sqrt(2.0 * s.Layers);
        using var _ = torch.no_grad();
        foreach (var (name, p) in named_parameters())
            if (name.EndsWith("layernorm.weight") || name.EndsWith("norm.weight")) nn.init.ones_(p);
            else nn.init.normal_(p, 0, name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight") ? residualStd : 0.02);
    }

    public override Tensor forward(Tensor idx)
    {
        var x = embed_tokens.forward(idx);
        foreach (var layer in layers)
            x = layer.forward(x, cos, sin);
        x = norm.forward(x);
        return F.linear(x, lm_head is null ? embed_tokens.weight! : lm_head.weight!);
    }
}
