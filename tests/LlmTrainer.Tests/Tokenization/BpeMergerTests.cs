using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Tokenization;

public sealed class BpeMergerTests
{
    [Fact]
    public void HeapAndScanAgreeOnRandomSequences()
    {
        // Ten symbols, merges between random pairs with random priorities, some priorities shared.
        var rng = new Random(11);
        for (int round = 0; round < 50; round++)
        {
            var merges = new List<Merge>();
            var priorities = new List<int>();
            int next = 10;
            for (int i = 0; i < 40; i++)
            {
                merges.Add(new Merge(rng.Next(next), rng.Next(next), next));
                priorities.Add(rng.Next(30));
                next++;
            }
            var merger = new BpeMerger(merges, priorities);
            var input = Enumerable.Range(0, rng.Next(1, 300)).Select(_ => rng.Next(10)).ToArray();
            var a = input.ToArray();
            var b = input.ToArray();
            int na = merger.ApplyByScan(a);
            int nb = merger.ApplyWithHeap(b);
            Assert.Equal(a[..na], b[..nb]);
            Assert.True(na <= input.Length);
        }
    }

    [Fact]
    public void LowestPriorityFirstLeftmostOnTies()
    {
        // 0 1 0 1 0: (0,1)->2 priority 1, (1,0)->3 priority 0, (2,2)->4 priority 2, (3,3)->5 priority 3.
        var merger = new BpeMerger([new Merge(0, 1, 2), new Merge(1, 0, 3), new Merge(2, 2, 4), new Merge(3, 3, 5)], [1, 0, 2, 3]);
        int[] parts = [0, 1, 0, 1, 0];
        int n = merger.Apply(parts);
        // (1,0) at position 1 first -> 0 3 1 0; then (1,0) at 2 -> 0 3 3; then (3,3) -> 0 5.
        Assert.Equal([0, 5], parts[..n]);
    }
}
