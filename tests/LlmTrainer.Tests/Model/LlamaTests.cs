using System.Text.Json;
using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Model;

/// <summary>Tests that count process-wide tensor handles run alone.</summary>
[CollectionDefinition("torch", DisableParallelization = true)]
public sealed class TorchCollection;

[Collection("torch")]
public sealed class LlamaTests
{
    private static JsonElement Fixture() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Model", "Fixtures", "llama.json"))).RootElement;

    private static LlamaConfig ConfigOf(JsonElement c) => new(
        c.GetProperty("vocab_size").GetInt32(), c.GetProperty("d_model").GetInt32(), c.GetProperty("n_layer").GetInt32(),
        c.GetProperty("n_head").GetInt32(), c.GetProperty("n_kv_head").GetInt32(), c.GetProperty("ffn_hidden").GetInt32(),
        c.GetProperty("block_size").GetInt32(), c.GetProperty("norm_eps").GetDouble(), c.GetProperty("rope_theta").GetDouble());

    internal static Tensor Floats(JsonElement e, Device? device = null) => torch.tensor(
        e.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray(),
        e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), device);

    internal static Tensor Ids(JsonElement rows, Device? device = null) =>
        torch.tensor(rows.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetInt64())).ToArray(),
                     [rows.GetArrayLength(), rows[0].GetArrayLength()], device);

    [Fact]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void Logits_and_loss_for_fixed_weights_match_the_pytorch_reference()
    {
        var device = TestDevice.Current;
        var f = Fixture();
        using var scope = torch.NewDisposeScope();
        using var model = new Llama(ConfigOf(f.GetProperty("config")), device);
        var weights = f.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => Floats(p.Value, device));
        model.load_state_dict(weights); // strict: the names must be exactly Hugging Face's
        model.eval();
        var idx = Ids(f.GetProperty("idx"), device);
        var logits = model.forward(idx);
        Assert.Equal(device.Type, logits.device.Type);
        var expected = Floats(f.GetProperty("logits"), device);
        Assert.Equal(expected.shape, logits.shape);
        double maxDiff = (logits - expected).abs().max().item<float>();
        Assert.True(maxDiff < TestDevice.Tolerance(1e-5, 1e-4), $"logits differ from the reference by {maxDiff}");
        var loss = model.loss(idx, Ids(f.GetProperty("targets"), device)).item<float>();
        Assert.Equal(f.GetProperty("loss").GetDouble(), loss, TestDevice.IsCuda ? 4 : 5);
    }

    [Fact]
    public void Parameter_names_follow_hugging_face_and_tied_embeddings_drop_lm_head()
    {
        var c = new LlamaConfig(50, 16, 2, 4, 2, 32, 8);
        using var model = new Llama(c);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.weight", names);
        Assert.Contains("model.layers.0.mlp.down_proj.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.Contains("lm_head.weight", names);
        Assert.Equal(2 * (16 * 16 * 2 + 16 * 8 * 2 + 3 * 16 * 32 + 2 * 16) + 16 + 2 * 50 * 16, model.num_parameters());
        using var tied = new Llama(c with { TieEmbeddings = true });
        Assert.DoesNotContain("lm_head.weight", tied.named_parameters().Select(p => p.name));
        Assert.Equal(model.num_parameters() - 50 * 16, tied.num_parameters());
    }

    [Fact]
    public void Init_uses_std_0_02_and_scaled_residual_projections()
    {
        torch.manual_seed(0);
        using var model = new Llama(new LlamaConfig(512, 128, 8, 4, 4, 256, 16));
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        using var scope = torch.NewDisposeScope();
        Assert.InRange(p["model.layers.0.self_attn.q_proj.weight"].std().item<float>(), 0.019, 0.021);
        Assert.InRange(p["model.layers.0.mlp.down_proj.weight"].std().item<float>(), 0.02 / 4 * 0.95, 0.02 / 4 * 1.05);
        Assert.Equal(1f, p["model.norm.weight"].mean().item<float>());
    }

    [Fact]
    [Trait(TestDevice.Trait, TestDevice.Any)]
    public void A_tiny_model_memorises_one_batch()
    {
        var device = TestDevice.Current;
        torch.manual_seed(1);
        using var model = new Llama(new LlamaConfig(32, 32, 2, 4, 2, 64, 16), device);
        using var opt = new optim.AdamW(model.parameters(), lr: 1e-2, weight_decay: 0);
        using var data = torch.NewDisposeScope();
        var x = torch.randint(0, 32, [4, 16]).to(device);
        var y = torch.randint(0, 32, [4, 16]).to(device);
        float loss = float.NaN;
        for (int step = 0; step < 150 && !(loss < 0.05f); step++)
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            var l = model.loss(x, y);
            l.backward();
            opt.step();
            loss = l.item<float>();
        }
        Assert.True(loss < 0.05f, $"loss after training on one batch is {loss}");
    }

    [Fact]
    public void Training_steps_leave_the_live_handle_count_constant()
    {
        torch.manual_seed(2);
        using var model = new Llama(new LlamaConfig(32, 16, 2, 4, 2, 32, 8));
        using var opt = new optim.AdamW(model.parameters(), lr: 1e-3);
        void Step()
        {
            using var s = torch.NewDisposeScope();
            opt.zero_grad();
            var l = model.loss(torch.randint(0, 32, [2, 8]), torch.randint(0, 32, [2, 8]));
            l.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
        }
        Step();
        long before = Tensor.LiveHandleCount, leaked = Tensor.LeakedCount;
        for (int i = 0; i < 20; i++) Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leaked, Tensor.LeakedCount);
    }
}
