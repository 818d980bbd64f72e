using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

public sealed class RandomTests
{
    [Fact]
    public void Restoring_generator_state_reproduces_the_same_numbers()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(42);
        torch.randn([5], generator: g);
        var state = g.get_state();
        var a = torch.randn([100], generator: g).ToArray<float>();
        var m1 = torch.multinomial(torch.ones([10]), 5, generator: g).ToArray<long>();
        g.set_state(state);
        var b = torch.randn([100], generator: g).ToArray<float>();
        var m2 = torch.multinomial(torch.ones([10]), 5, generator: g).ToArray<long>();
        Assert.Equal(a, b);
        Assert.Equal(m1, m2);
    }

    [Fact]
    public void Same_seed_same_results_and_default_generator_state_round_trips()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var a = torch.rand([50]).ToArray<float>();
        torch.manual_seed(7);
        var b = torch.rand([50]).ToArray<float>();
        Assert.Equal(a, b);
        var state = torch.get_rng_state();
        var c = torch.randint(0, 1000, [20]).ToArray<long>();
        torch.set_rng_state(state);
        var d = torch.randint(0, 1000, [20]).ToArray<long>();
        Assert.Equal(c, d);
        torch.manual_seed(8);
        Assert.NotEqual(a, torch.rand([50]).ToArray<float>());
    }

    [Fact]
    public void Multinomial_follows_the_probabilities()
    {
        using var scope = torch.NewDisposeScope();
        using var g = new Generator(3);
        var probs = torch.tensor(new float[] { 0.1f, 0.0f, 0.9f });
        var draws = torch.multinomial(probs, 4000, replacement: true, generator: g).ToArray<long>();
        Assert.DoesNotContain(1L, draws);
        double frac2 = draws.Count(d => d == 2) / 4000.0;
        Assert.InRange(frac2, 0.87, 0.93);
    }
}
