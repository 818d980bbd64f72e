namespace LlmTrainer.Data;

/// <summary>
/// A shuffled order of the windows 0..n-1 of one epoch, chosen by a key, in constant memory whatever n: a four-round
/// Feistel network permutes the integers below the smallest power of four that holds n, and values that land at n or
/// above go through it again until they fall inside (cycle walking, fewer than four passes on average). Every window
/// appears exactly once per epoch; another key gives another order.
/// </summary>
public readonly struct WindowOrder
{
    private const int Rounds = 4;
    private readonly long _count;
    private readonly int _halfBits;
    private readonly ulong _halfMask;
    private readonly ulong _k0, _k1, _k2, _k3;

    public WindowOrder(long count, ulong key)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _count = count;
        int bits = Math.Max(2, 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(count - 1)));
        _halfBits = (bits + 1) / 2;
        _halfMask = (1UL << _halfBits) - 1;
        ulong state = key;
        _k0 = Xoshiro256.SplitMix64(ref state);
        _k1 = Xoshiro256.SplitMix64(ref state);
        _k2 = Xoshiro256.SplitMix64(ref state);
        _k3 = Xoshiro256.SplitMix64(ref state);
    }

    public long Count => _count;

    /// <summary>The window at place <paramref name="index"/> of the order.</summary>
    public long this[long index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
            ulong x = (ulong)index;
            do
            {
                x = Encrypt(x);
            }
            while (x >= (ulong)_count);
            return (long)x;
        }
    }

    /// <summary>The key of a source's order in one epoch: a fresh order every epoch, a different one per source.</summary>
    public static ulong Key(ulong seed, int source, long epoch)
    {
        ulong state = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(source + 1)) ^ (0xC2B2AE3D27D4EB4FUL * (ulong)(epoch + 1));
        return Xoshiro256.SplitMix64(ref state);
    }

    private ulong Encrypt(ulong x)
    {
        ulong left = x >> _halfBits, right = x & _halfMask;
        for (int round = 0; round < Rounds; round++)
        {
            ulong key = round switch { 0 => _k0, 1 => _k1, 2 => _k2, _ => _k3 };
            (left, right) = (right, left ^ (Mix(right ^ key) & _halfMask));
        }
        return (left << _halfBits) | right;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
