using System.Text.Json;
using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Torch.Tests;

/// <summary>Forward values and gradients of every op family against PyTorch (Fixtures/ops.json).</summary>
public sealed class OpsTests
{
    private delegate Tensor Op(IReadOnlyDictionary<string, Tensor> x, IReadOnlyDictionary<string, Tensor> i);

    private static readonly Dictionary<string, Op> Ops = new()
    {
        ["add"] = (x, _) => x["a"] + x["b"],
        ["sub"] = (x, _) => x["a"] - x["b"],
        ["mul"] = (x, _) => x["a"] * x["b"],
        ["div"] = (x, _) => x["a"] / x["b"],
        ["add_scalar"] = (x, _) => x["a"] + 2.5,
        ["rsub_scalar"] = (x, _) => 1.5 - x["a"],
        ["mul_scalar"] = (x, _) => x["a"] * -3.0,
        ["div_scalar"] = (x, _) => x["a"] / 4.0,
        ["neg"] = (x, _) => -x["a"],
        ["pow"] = (x, _) => x["a"].pow(2.5),
        ["pow_scalar_base"] = (x, _) => torch.pow(1.0e4, x["a"]),
        ["sqrt"] = (x, _) => x["a"].sqrt(),
        ["rsqrt"] = (x, _) => x["a"].rsqrt(),
        ["exp"] = (x, _) => x["a"].exp(),
        ["log"] = (x, _) => x["a"].log(),
        ["tanh"] = (x, _) => x["a"].tanh(),
        ["sigmoid"] = (x, _) => x["a"].sigmoid(),
        ["silu"] = (x, _) => F.silu(x["a"]),
        ["gelu"] = (x, _) => F.gelu(x["a"]),
        ["matmul"] = (x, _) => x["a"].matmul(x["b"]),
        ["bmm"] = (x, _) => x["a"].bmm(x["b"]),
        ["linear"] = (x, _) => F.linear(x["x"], x["w"], x["b"]),
        ["sum_all"] = (x, _) => x["a"].sum(),
        ["sum_dim"] = (x, _) => x["a"].sum(1, keepdim: true),
        ["mean_all"] = (x, _) => x["a"].mean(),
        ["mean_dims"] = (x, _) => x["a"].mean([0, 2]),
        ["max_dim_values"] = (x, _) => x["a"].max(1).values,
        ["amax"] = (x, _) => x["a"].amax(0),
        ["cumsum"] = (x, _) => x["a"].cumsum(1),
        ["softmax"] = (x, _) => x["a"].softmax(-1),
        ["log_softmax"] = (x, _) => x["a"].log_softmax(-1),
        ["masked_fill"] = (x, _) => x["a"].masked_fill(x["a"].gt(0.3), -7.0),
        ["where"] = (x, _) => torch.where(x["a"].gt(x["b"]), x["a"], x["b"] * 2),
        ["triu"] = (x, _) => x["a"].triu(1),
        ["tril"] = (x, _) => x["a"].tril(),
        ["clamp"] = (x, _) => x["a"].clamp(-0.5, 0.6),
        ["view_transpose"] = (x, _) => x["a"].view(6, 4).transpose(0, 1).contiguous(),
        ["permute_reshape"] = (x, _) => x["a"].permute(2, 0, 1).reshape(4, 6),
        ["narrow_slice"] = (x, _) => x["a"].narrow(0, 1, 3).slice(1, 1, 5, 2),
        ["cat"] = (x, _) => torch.cat([x["a"], x["b"]], 1),
        ["stack"] = (x, _) => torch.stack([x["a"], x["b"]], 0),
        ["split_chunk"] = (x, _) => x["a"].split(4, 0)[1] * 2 + x["a"].chunk(3, 0)[2].sum(),
        ["unsqueeze_expand"] = (x, _) => x["a"].unsqueeze(0).expand(4, 3),
        ["squeeze_flatten"] = (x, _) => x["a"].squeeze(1).flatten(1),
        ["repeat_interleave"] = (x, _) => x["a"].repeat_interleave(2, 0),
        ["index_select"] = (x, i) => x["a"].index_select(0, i["idx"]),
        ["gather"] = (x, i) => x["a"].gather(1, i["idx"]),
        ["embedding"] = (x, i) => F.embedding(i["idx"], x["w"]),
        ["rms_norm"] = (x, _) => F.rms_norm(x["x"], x["w"], 1e-5),
        ["cross_entropy"] = (x, i) => F.cross_entropy(x["logits"], i["t"], ignore_index: -100),
        ["cross_entropy_none"] = (x, i) => F.cross_entropy(x["logits"], i["t"], ignore_index: -100, reduction: nn.Reduction.None),
        ["cross_entropy_wide"] = (x, i) => F.cross_entropy(x["logits"], i["t"], ignore_index: -1),
        ["rms_norm_wide"] = (x, _) => F.rms_norm(x["x"], x["w"], 1e-5),
        ["swiglu"] = (x, _) => F.swiglu(x["a"], x["b"]),
        ["rope"] = (x, _) => F.apply_rotary_emb(x["x"].transpose(1, 2), x["cos"].detach(), x["sin"].detach()),
        ["cross_entropy_sum"] = (x, i) => F.cross_entropy(x["logits"], i["t"], ignore_index: -100, reduction: nn.Reduction.Sum),
        ["sdpa_causal"] = (x, _) => F.scaled_dot_product_attention(x["q"], x["k"], x["v"], is_causal: true),
        ["sdpa_gqa"] = (x, _) => F.scaled_dot_product_attention(x["q"], x["k"], x["v"], is_causal: true),
        ["sdpa_full"] = (x, _) => F.scaled_dot_product_attention(x["q"], x["k"], x["v"]),
        ["index_add"] = (x, i) => x["a"].index_add(0, i["idx"], x["src"], alpha: 0.5),
        ["bincount"] = (x, i) => i["idx"].bincount(x["w"], minlength: 6),
        ["topk_values"] = (x, _) => x["a"].topk(3, -1).values,
        ["sort_values"] = (x, _) => x["a"].sort(-1, descending: true).values,
    };

    /// <summary>Every case on every device; on the CPU also with the fused kernels off (libtorch's own ops).</summary>
    public static IEnumerable<object[]> Cases()
    {
        foreach (var c in Fixture.Load("ops.json").GetProperty("cases").EnumerateArray())
            foreach (var d in Devices.All())
            {
                yield return [c.GetProperty("name").GetString()!, d[0], true];
                if ((string)d[0] == "cpu") yield return [c.GetProperty("name").GetString()!, d[0], false];
            }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Forward_and_gradient_match_pytorch(string name, string device, bool fused)
    {
        bool before = torch.fused_kernels;
        torch.fused_kernels = fused;
        try
        {
            Check(name, device);
        }
        finally
        {
            torch.fused_kernels = before;
        }
    }

    private static void Check(string name, string device)
    {
        var dev = Device.Parse(device);
        var c = Fixture.Load("ops.json").GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        Assert.True(Ops.ContainsKey(name), $"no C# definition for fixture case '{name}'");
        using var scope = torch.NewDisposeScope();
        var x = new Dictionary<string, Tensor>();
        foreach (var p in c.GetProperty("inputs").EnumerateObject())
            x[p.Name] = Fixture.Float(p.Value, dev).requires_grad_();
        var ints = new Dictionary<string, Tensor>();
        foreach (var p in c.GetProperty("int_inputs").EnumerateObject())
            ints[p.Name] = Fixture.Long(p.Value, dev);

        var output = Ops[name](x, ints);
        double tol = dev.IsCuda ? 2e-4 : 2e-5;
        Assert.True(Fixture.MaxDiff(output, c.GetProperty("output")) < tol, $"{name}: forward differs from PyTorch");

        if (!c.TryGetProperty("grads", out var grads)) return;
        var w = Fixture.Float(Weights(output.shape), dev);
        (output * w).sum().backward();
        foreach (var g in grads.EnumerateObject())
        {
            var grad = x[g.Name].grad;
            Assert.NotNull(grad);
            Assert.True(Fixture.MaxDiff(grad!, g.Value) < tol * 5, $"{name}: gradient of {g.Name} differs from PyTorch");
        }
    }

    /// <summary>The backward weights of make_fixtures.py: sin(0.731·i + 0.5) over the output's shape.</summary>
    private static JsonElement Weights(long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = Enumerable.Range(0, (int)n).Select(i => (double)(float)Math.Sin(i * 0.731 + 0.5));
        var json = JsonSerializer.Serialize(new { shape, data });
        return JsonDocument.Parse(json).RootElement;
    }

    [Fact]
    public void Sum_and_mean_of_literal_zero_reduce_dimension_zero_not_to_a_dtype()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.arange(6, ScalarType.Float32).reshape(2, 3);
        Assert.Equal([3f, 5f, 7f], x.sum(0).ToArray<float>());
        Assert.Equal([1.5f, 2.5f, 3.5f], x.mean(0).ToArray<float>());
        Assert.Equal(ScalarType.Float32, x.sum(0).dtype);
    }

    [Fact]
    public void Every_fixture_case_has_a_definition_and_back()
    {
        var names = Fixture.Load("ops.json").GetProperty("cases").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToHashSet();
        Assert.Empty(names.Except(Ops.Keys));
        Assert.Empty(Ops.Keys.Except(names));
    }
}
