using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

/// <summary>The CPU caching allocator: big blocks are reused by size, values stay right, allocated bytes are counted.</summary>
public sealed class CpuAllocatorTests
{
    private static bool Caching => Environment.GetEnvironmentVariable("LLMTRAIN_CPU_CACHE") != "0";

    [Fact]
    public void A_freed_large_block_is_held_and_given_to_the_next_tensor_of_its_size()
    {
        LifetimeTests.CollectEarlierGarbage(); // a finalizer freeing a big tensor mid-test would add to the cache
        torch.cpu.empty_cache();
        Assert.Equal(0, torch.cpu.memory_reserved());
        const long n = 3 << 20; // 12 MiB of float32
        torch.ones([n]).Dispose();
        long held = torch.cpu.memory_reserved();
        if (!Caching)
        {
            Assert.Equal(0, held);
            return;
        }
        Assert.Equal(n * 4, held);

        using (var reused = torch.full([n], 2.5))
        {
            Assert.Equal(0, torch.cpu.memory_reserved()); // the held block was taken
            Assert.Equal(2.5f * n, reused.sum().item<float>(), 1);
            using var other = torch.zeros([n + 1]);  // another size: a new block
            Assert.Equal(0f, other.sum().item<float>());
        }
        Assert.Equal(n * 4 + (n + 1) * 4, torch.cpu.memory_reserved());
        torch.cpu.empty_cache();
        Assert.Equal(0, torch.cpu.memory_reserved());
    }

    [Fact]
    public void Small_blocks_are_not_held()
    {
        LifetimeTests.CollectEarlierGarbage();
        torch.cpu.empty_cache();
        torch.ones([1000]).Dispose();
        Assert.Equal(0, torch.cpu.memory_reserved());
    }

    [Fact]
    public void Allocated_bytes_and_their_peak_are_counted()
    {
        LifetimeTests.CollectEarlierGarbage();
        long before = torch.cpu.memory_allocated();
        torch.cpu.reset_peak_memory_stats();
        Assert.Equal(before, torch.cpu.max_memory_allocated());
        using (var a = torch.zeros([1 << 20]))
        {
            Assert.Equal(before + (4 << 20), torch.cpu.memory_allocated());
            using var b = torch.zeros([1 << 18]);
            Assert.Equal(before + (4 << 20) + (1 << 20), torch.cpu.max_memory_allocated());
        }
        Assert.Equal(before, torch.cpu.memory_allocated()); // a cached block counts as freed
        Assert.Equal(before + (5 << 20), torch.cpu.max_memory_allocated());
        torch.cpu.reset_peak_memory_stats();
        Assert.Equal(before, torch.cpu.max_memory_allocated());
    }
}
