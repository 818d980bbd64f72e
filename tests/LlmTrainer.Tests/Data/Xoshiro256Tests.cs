using LlmTrainer.Data;

namespace LlmTrainer.Tests.Data;

public sealed class Xoshiro256Tests
{
    [Fact]
    public void MatchesTheReferenceAlgorithm()
    {
        // First outputs of xoshiro256** seeded by four SplitMix64 steps from 42, computed with an independent implementation.
        var rng = new Xoshiro256(42);
        Assert.Equal(0x15780b2e0c2ec716UL, rng.NextUInt64());
        Assert.Equal(0x6104d9866d113a7eUL, rng.NextUInt64());
        Assert.Equal(0xae17533239e499a1UL, rng.NextUInt64());
    }

    [Fact]
    public void State_RoundTrips()
    {
        var a = new Xoshiro256(7);
        for (int i = 0; i < 10; i++)
            a.NextUInt64();
        var b = Xoshiro256.FromState(a.State);
        for (int i = 0; i < 100; i++)
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
    }

    [Theory]
    [InlineData("")]
    [InlineData("xyz")]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("g000000000000000000000000000000000000000000000000000000000000001")]
    public void FromState_RejectsInvalidStates(string state)
        => Assert.Throws<LlmTrainerException>(() => Xoshiro256.FromState(state));

    [Fact]
    public void NextBelow_StaysInRange_AndCoversIt()
    {
        var rng = new Xoshiro256(1);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++)
            counts[rng.NextBelow(7)]++;
        // Each bucket expects 10,000 (σ ≈ 93); 6σ bounds.
        Assert.All(counts, c => Assert.InRange(c, 9_440, 10_560));
    }

    [Fact]
    public void NextDouble_IsInUnitInterval()
    {
        var rng = new Xoshiro256(3);
        double sum = 0;
        for (int i = 0; i < 10_000; i++)
        {
            double u = rng.NextDouble();
            Assert.InRange(u, 0.0, 0.9999999999999999);
            sum += u;
        }
        Assert.InRange(sum / 10_000, 0.48, 0.52);
    }
}
