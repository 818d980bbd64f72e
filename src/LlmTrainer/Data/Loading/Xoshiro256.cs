using System.Globalization;

namespace LlmTrainer.Data;

/// <summary>
/// xoshiro256** generator, seeded through SplitMix64. Ours rather than System.Random so that its sequence is
/// fixed by the algorithm (not the runtime version) and its whole state can be saved and restored exactly.
/// </summary>
public sealed class Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    private Xoshiro256()
    {
    }

    /// <summary>The full state as 64 hex digits, for saving in JSON.</summary>
    public string State => string.Create(CultureInfo.InvariantCulture, $"{_s0:x16}{_s1:x16}{_s2:x16}{_s3:x16}");

    public static Xoshiro256 FromState(string state)
    {
        if (state.Length != 64 || !state.All(Uri.IsHexDigit))
            throw new LlmTrainerException($"Invalid generator state '{state}': expected 64 hex digits as saved by llmtrain.");
        var rng = new Xoshiro256
        {
            _s0 = ulong.Parse(state.AsSpan(0, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            _s1 = ulong.Parse(state.AsSpan(16, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            _s2 = ulong.Parse(state.AsSpan(32, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            _s3 = ulong.Parse(state.AsSpan(48, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        };
        if ((rng._s0 | rng._s1 | rng._s2 | rng._s3) == 0)
            throw new LlmTrainerException("Invalid generator state: all zero.");
        return rng;
    }

    /// <summary>One SplitMix64 step: also a good stateless mixer for deriving independent seeds.</summary>
    public static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public ulong NextBelow(ulong bound)
    {
        if (bound == 0)
            throw new ArgumentOutOfRangeException(nameof(bound), "The bound must be positive.");
        ulong high = Math.BigMul(NextUInt64(), bound, out ulong low);
        if (low < bound)
        {
            ulong threshold = (0 - bound) % bound;
            while (low < threshold)
                high = Math.BigMul(NextUInt64(), bound, out low);
        }
        return high;
    }

    public int NextInt(int bound) => (int)NextBelow((ulong)bound);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
