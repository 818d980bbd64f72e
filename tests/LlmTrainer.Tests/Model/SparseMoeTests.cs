using System.Text.Json;
using LlmTrainer.Model;
using LlmTrainer.Torch;
using static LlmTrainer.Tests.Model.LlamaTests;

namespace LlmTrainer.Tests.Model;

/// <summary>
/// The sparse mixture of experts against a PyTorch reference with Mixtral's semantics (Fixtures/moe.json, made by
/// make_moe_fixture.py): router, top-k with ties, renormalised weights, dispatch, capacity, router losses, gradients.
/// </summary>
[Collection("torch")]
public sealed class SparseMoeTests
{
    private const double Tolerance = 1e-5;

    private static JsonElement Fixture() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Model", "Fixtures", "moe.json"))).RootElement;

    private static double MaxDiff(Tensor actual, JsonElement expected)
    {
        using var scope = torch.NewDisposeScope();
        var e = Floats(expected);
        Assert.Equal(e.shape, actual.shape);
        return (actual.detach() - e).abs().max().item<float>();
    }

    private static void AssertClose(Tensor actual, JsonElement expected, string what)
    {
        var diff = MaxDiff(actual, expected);
        Assert.True(diff <= Tolerance, $"{what} differs from the reference by {diff}");
    }

    public static TheoryData<string, bool> BlockCases() => new()
    {
        { "block", true }, { "block", false }, { "capacity", true }, { "capacity", false },
    };

    [Theory]
    [MemberData(nameof(BlockCases))]
    public void Block_output_router_losses_and_gradients_match_the_reference(string name, bool fusedKernels)
    {
        var f = Fixture();
        var spec = f.GetProperty("block");
        var c = f.GetProperty(name);
        bool fusedBefore = torch.fused_kernels;
        torch.fused_kernels = fusedKernels;
        try
        {
            using var scope = torch.NewDisposeScope();
            var config = new LlamaConfig(VocabSize: 1, DModel: spec.GetProperty("d_model").GetInt32(), NLayer: 1, NHead: 2, NKvHead: 2,
                FfnHidden: spec.GetProperty("ffn_hidden").GetInt32(), BlockSize: 8, NExperts: spec.GetProperty("n_experts").GetInt32(),
                ExpertsPerToken: spec.GetProperty("experts_per_token").GetInt32(), MoeCapacityFactor: c.GetProperty("capacity_factor").GetDouble());
            var counts = new ExpertCounts(1, config.NExperts);
            using var moe = new SparseMoe(config, 0, counts);
            moe.load_state_dict(spec.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => Floats(p.Value)));
            var x = Floats(spec.GetProperty("x")).requires_grad_();

            var router = new RouterLosses(auxLossCoef: 0.3, zLossCoef: 0.7);
            var y = moe.forward(x, router);
            AssertClose(y, c.GetProperty("output"), "output");
            Assert.Equal(1, router.Layers);
            Assert.Equal(c.GetProperty("aux_loss").GetDouble(), router.AuxLoss!.item<float>(), 5);
            Assert.Equal(c.GetProperty("z_loss").GetDouble(), router.ZLoss!.item<float>(), 5);
            var load = counts.Snapshot();
            Assert.Equal(c.GetProperty("routed").EnumerateArray().Select(v => v.GetInt64()), load.Routed[0]);
            Assert.Equal(c.GetProperty("dropped").GetInt64(), load.Dropped);

            ((y * Floats(spec.GetProperty("out_weights"))).sum() + router.Weighted()).backward();
            var grads = c.GetProperty("grads");
            AssertClose(x.grad!, grads.GetProperty("x"), "gradient of x");
            foreach (var (param, p) in moe.named_parameters())
                AssertClose(p.grad!, grads.GetProperty(param), $"gradient of {param}");
        }
        finally
        {
            torch.fused_kernels = fusedBefore;
        }
    }

    [Fact]
    public void Evaluation_never_drops_tokens_even_with_a_capacity_factor()
    {
        var f = Fixture();
        var spec = f.GetProperty("block");
        using var scope = torch.NewDisposeScope();
        var config = new LlamaConfig(1, 8, 1, 2, 2, 12, 8, NExperts: 4, ExpertsPerToken: 2, MoeCapacityFactor: 0.6);
        var counts = new ExpertCounts(1, 4);
        using var moe = new SparseMoe(config, 0, counts);
        moe.load_state_dict(spec.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => Floats(p.Value)));
        moe.eval();
        using (torch.no_grad())
            AssertClose(moe.forward(Floats(spec.GetProperty("x")), null), spec.GetProperty("output"), "output in eval mode");
        Assert.Equal(0, counts.Snapshot().Dropped);
    }

    private static Llama FixtureModel(JsonElement m)
    {
        var c = m.GetProperty("config");
        var model = new Llama(new LlamaConfig(
            c.GetProperty("vocab_size").GetInt32(), c.GetProperty("d_model").GetInt32(), c.GetProperty("n_layer").GetInt32(),
            c.GetProperty("n_head").GetInt32(), c.GetProperty("n_kv_head").GetInt32(), c.GetProperty("ffn_hidden").GetInt32(),
            c.GetProperty("block_size").GetInt32(), c.GetProperty("norm_eps").GetDouble(), c.GetProperty("rope_theta").GetDouble(),
            NExperts: c.GetProperty("n_experts").GetInt32(), ExpertsPerToken: c.GetProperty("experts_per_token").GetInt32()));
        using var scope = torch.NewDisposeScope();
        model.load_state_dict(m.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => Floats(p.Value))); // strict: Mixtral's names
        return model;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_mixtral_model_s_logits_losses_and_gradients_match_the_reference(bool activationCheckpointing)
    {
        var m = Fixture().GetProperty("model");
        using var model = FixtureModel(m);
        using var scope = torch.NewDisposeScope();
        var idx = Ids(m.GetProperty("idx"));
        var targets = Ids(m.GetProperty("targets"));
        using (torch.no_grad())
            AssertClose(model.forward(idx), m.GetProperty("logits"), "logits");

        var before = model.expert_load()!;
        var router = new RouterLosses(m.GetProperty("aux_loss_coef").GetDouble(), m.GetProperty("z_loss_coef").GetDouble());
        Tensor loss;
        if (activationCheckpointing)
            loss = model.forward_backward(idx, targets, router: router);
        else
        {
            loss = model.loss(idx, targets, router);
            (loss + router.Weighted()).backward();
        }
        Assert.Equal(m.GetProperty("loss").GetDouble(), loss.item<float>(), 5);
        Assert.Equal(2, router.Layers);
        Assert.Equal(m.GetProperty("aux_loss").GetDouble(), router.AuxLoss!.item<float>(), 5);
        Assert.Equal(m.GetProperty("z_loss").GetDouble(), router.ZLoss!.item<float>(), 5);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var g in m.GetProperty("grads").EnumerateObject())
            AssertClose(parameters[g.Name].grad!, g.Value, $"gradient of {g.Name}");
        // Once counted however the step runs: 2 × 8 tokens, 2 experts each, in each of the 2 layers.
        Assert.Equal(2 * 2 * 8 * 2, model.expert_load()!.Since(before).Total);
    }

    [Fact]
    public void Under_bfloat16_autocast_a_moe_model_is_close_to_float32_and_checkpointing_gives_its_gradients()
    {
        if (!torch.cpu.supports_bfloat16_autocast()) return; // bfloat16 on the CPU needs libtorch 2.x
        var m = Fixture().GetProperty("model");
        using var model = FixtureModel(m);
        using var scope = torch.NewDisposeScope();
        var idx = Ids(m.GetProperty("idx"));
        var targets = Ids(m.GetProperty("targets"));

        var router = new RouterLosses(0.02, 0.005);
        Tensor loss;
        using (torch.autocast(DeviceType.CPU, ScalarType.BFloat16))
            loss = model.loss(idx, targets, router);
        (loss + router.Weighted()).backward();
        var plain = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.ToArray<float>());
        model.zero_grad();
        var recomputedRouter = new RouterLosses(0.02, 0.005);
        var recomputed = model.forward_backward(idx, targets, autocast: ScalarType.BFloat16, router: recomputedRouter);

        Assert.InRange(loss.item<float>(), m.GetProperty("loss").GetDouble() - 0.05, m.GetProperty("loss").GetDouble() + 0.05);
        Assert.InRange(router.AuxLoss!.item<float>(), m.GetProperty("aux_loss").GetDouble() - 0.05, m.GetProperty("aux_loss").GetDouble() + 0.05);
        Assert.Equal(loss.item<float>(), recomputed.item<float>());
        Assert.Equal(router.AuxLoss!.item<float>(), recomputedRouter.AuxLoss!.item<float>());
        foreach (var (name, p) in model.named_parameters())
        {
            double diff = plain[name].Zip(p.grad!.ToArray<float>(), (a, b) => Math.Abs((double)a - b)).Max();
            Assert.True(diff <= 1e-5, $"{name}: gradients with checkpointing differ by {diff}");
        }
    }

    [Fact]
    public void Names_follow_mixtral_and_the_count_matches_the_shape()
    {
        var c = new LlamaConfig(50, 16, 2, 4, 2, 24, 8, NExperts: 4, ExpertsPerToken: 2);
        using var model = new Llama(c);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.layers.1.block_sparse_moe.gate.weight", names);
        Assert.Contains("model.layers.0.block_sparse_moe.experts.3.w1.weight", names);
        Assert.Contains("model.layers.0.block_sparse_moe.experts.0.w2.weight", names);
        Assert.Contains("model.layers.0.block_sparse_moe.experts.2.w3.weight", names);
        Assert.DoesNotContain(names, n => n.Contains(".mlp.", StringComparison.Ordinal));
        Assert.Equal(c.TotalParameters, model.num_parameters());
    }

    [Fact]
    public void Down_projections_of_experts_get_the_scaled_residual_init()
    {
        torch.manual_seed(0);
        using var model = new Llama(new LlamaConfig(64, 128, 8, 4, 4, 256, 16, NExperts: 2, ExpertsPerToken: 1));
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        using var scope = torch.NewDisposeScope();
        Assert.InRange(p["model.layers.0.block_sparse_moe.experts.1.w2.weight"].std().item<float>(), 0.02 / 4 * 0.95, 0.02 / 4 * 1.05);
        Assert.InRange(p["model.layers.0.block_sparse_moe.experts.1.w1.weight"].std().item<float>(), 0.019, 0.021);
        Assert.InRange(p["model.layers.0.block_sparse_moe.gate.weight"].std().item<float>(), 0.016, 0.024);
    }

    [Fact]
    public void An_expert_without_tokens_gets_a_zero_gradient_not_none()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var c = new LlamaConfig(1, 8, 1, 2, 2, 12, 8, NExperts: 4, ExpertsPerToken: 1);
        using var moe = new SparseMoe(c, 0, new ExpertCounts(1, 4));
        var gate = moe.named_parameters().Single(p => p.name == "gate.weight").parameter;
        using (torch.no_grad())
        {
            gate.zero_();
            gate[0].fill_(5); // every token goes to expert 0
        }
        var y = moe.forward(torch.randn([1, 3, 8]).abs(), null);
        y.sum().backward();
        var unused = moe.named_parameters().Single(p => p.name == "experts.2.w1.weight").parameter;
        Assert.NotNull(unused.grad);
        Assert.Equal(0f, unused.grad!.abs().sum().item<float>());
        Assert.NotEqual(0f, moe.named_parameters().Single(p => p.name == "experts.0.w1.weight").parameter.grad!.abs().sum().item<float>());
    }

    [Fact]
    public void Training_steps_of_a_moe_model_leave_the_live_handle_count_constant()
    {
        torch.manual_seed(2);
        using var model = new Llama(new LlamaConfig(32, 16, 2, 4, 2, 32, 8, NExperts: 4, ExpertsPerToken: 2, MoeCapacityFactor: 1.0));
        using var opt = new optim.AdamW(model.parameters(), lr: 1e-3);
        void Step(bool checkpointing)
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            var router = new RouterLosses(0.01, 0.001);
            var (x, y) = (torch.randint(0, 32, [2, 8]), torch.randint(0, 32, [2, 8]));
            if (checkpointing)
                model.forward_backward(x, y, router: router);
            else
                (model.loss(x, y, router) + router.Weighted()).backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
        }
        Step(false);
        Step(true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        for (int i = 0; i < 20; i++) Step(i % 2 == 0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
    }
}
