using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

/// <summary>Behaviour of the nn layers beyond their maths (which OpsTests checks against PyTorch).</summary>
public sealed class LayerTests
{
    [Fact]
    public void Dropout_passes_its_input_through_when_nothing_is_dropped()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.ones([64, 64]);
        using var none = new nn.Dropout(0);
        Assert.Same(x, none.forward(x));

        using var half = new nn.Dropout(0.5);
        half.eval();
        Assert.Same(x, half.forward(x));

        half.train();
        var y = half.forward(x);
        Assert.NotSame(x, y);
        var values = y.ToArray<float>();
        Assert.Contains(0f, values);
        Assert.Contains(2f, values); // survivors scaled by 1/(1-p)
        Assert.All(values, v => Assert.True(v is 0f or 2f));
    }

    [Fact]
    public void Linear_of_a_single_row_matches_the_batched_product_in_values_shape_and_gradients()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.randn([7, 5]).requires_grad_(true);
        var b = torch.randn([7]).requires_grad_(true);
        var rows = torch.randn([3, 5]);
        var batched = nn.functional.linear(rows, w, b);

        var one = rows.narrow(0, 1, 1).view(1, 1, 5); // a decode step: batch 1, one position
        var single = nn.functional.linear(one, w, b);
        Assert.Equal([1L, 1L, 7L], single.shape);
        var expected = batched.narrow(0, 1, 1).ToArray<float>();
        var actual = single.ToArray<float>();
        for (int i = 0; i < 7; i++) Assert.Equal(expected[i], actual[i], 5);

        single.sum().backward();
        var gradW = w.grad!.ToArray<float>();
        var row = rows.narrow(0, 1, 1).ToArray<float>();
        for (int o = 0; o < 7; o++)
            for (int i = 0; i < 5; i++)
                Assert.Equal(row[i], gradW[o * 5 + i], 5); // d(sum)/dW[o,i] = x[i]
        Assert.All(b.grad!.ToArray<float>(), g => Assert.Equal(1f, g));
    }
}
