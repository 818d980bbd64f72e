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
}
