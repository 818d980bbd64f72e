using LlmTrainer.Torch;
using F = LlmTrainer.Torch.nn.functional;

namespace LlmTrainer.Torch.Tests;

/// <summary>Errors, dispose scopes and handle accounting. Serialised: they count process-wide handles.</summary>
public sealed class LifetimeTests
{
    private sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Linear fc1, fc2;

        public Mlp()
        {
            fc1 = register_module("fc1", new nn.Linear(16, 32));
            fc2 = register_module("fc2", new nn.Linear(32, 4));
        }

        public override Tensor forward(Tensor x) => fc2.forward(F.silu(fc1.forward(x)));
    }

    [Fact]
    public void Two_hundred_training_steps_leak_no_handle_and_no_tensor_reaches_a_finalizer()
    {
        torch.manual_seed(1);
        using var model = new Mlp();
        using var opt = new optim.AdamW(model.parameters(), lr: 1e-2);
        using (var warm = torch.NewDisposeScope()) Step(model, opt); // optimizer state is created on the first step
        CollectEarlierGarbage();
        long before = Tensor.LiveHandleCount;
        long leakedBefore = Tensor.LeakedCount;
        for (int i = 0; i < 200; i++)
        {
            using var scope = torch.NewDisposeScope();
            Step(model, opt);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Equal(leakedBefore, Tensor.LeakedCount);
    }

    private static void Step(Mlp model, optim.AdamW opt)
    {
        var x = torch.randn([8, 16]);
        var y = torch.randint(0, 4, [8]);
        opt.zero_grad();
        var loss = F.cross_entropy(model.forward(x), y);
        loss.backward();
        nn.utils.clip_grad_norm_(model.parameters(), 1.0);
        opt.step();
    }

    [Fact]
    public void A_tensor_dropped_outside_any_scope_is_freed_by_its_finalizer_and_counted_as_leaked()
    {
        // Disposed tensors hand their guards back to the pool; a pooled guard must not count as a leak.
        for (int i = 0; i < 10; i++) torch.ones([4]).Dispose();
        CollectEarlierGarbage();
        long before = Tensor.LiveHandleCount, leakedBefore = Tensor.LeakedCount;
        DropUndisposed();
        for (int i = 0; i < 3 && Tensor.LeakedCount < leakedBefore + 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.Equal(leakedBefore + 2, Tensor.LeakedCount);
        Assert.Equal(before, Tensor.LiveHandleCount);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void DropUndisposed()
    {
        _ = torch.ones([4]);                   // made outside any scope
        using var scope = torch.NewDisposeScope();
        torch.zeros([4]).DetachFromDisposeScope(); // taken out of its scope, then forgotten
        _ = torch.ones([2]);                   // owned by the scope: freed by it, not leaked
    }

    [Fact]
    public void A_tensor_owned_by_a_live_scope_survives_garbage_collection()
    {
        CollectEarlierGarbage();
        using var scope = torch.NewDisposeScope();
        long before = Tensor.LiveHandleCount;
        MakeInScope();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before + 1, Tensor.LiveHandleCount);
        scope.Dispose();
        Assert.Equal(before, Tensor.LiveHandleCount);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeInScope() => _ = torch.ones([3]);

    /// <summary>Other tests' dropped tensors must be finalized before a test counts handles of its own.</summary>
    internal static void CollectEarlierGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void Shape_mismatch_raises_with_libtorchs_message_and_the_process_goes_on()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.ones([2, 3]);
        var b = torch.ones([4, 5]);
        var e = Assert.Throws<TorchException>(() => a.matmul(b));
        Assert.Contains("cannot be multiplied", e.Message);
        Assert.DoesNotContain("frame #", e.Message);
        Assert.Equal(6f, a.sum().item<float>());
    }

    [Fact]
    public void Impossible_allocation_raises_out_of_memory()
    {
        Assert.Throws<TorchOutOfMemoryException>(() => torch.empty([1L << 22, 1L << 22], ScalarType.Float32));
    }

    [Fact]
    public void Disposing_twice_is_harmless_and_use_after_dispose_is_an_error()
    {
        long before = Tensor.LiveHandleCount;
        var t = torch.ones([3]);
        Assert.Equal(before + 1, Tensor.LiveHandleCount);
        t.Dispose();
        t.Dispose();
        Assert.Equal(before, Tensor.LiveHandleCount);
        Assert.Throws<ObjectDisposedException>(() => t.sum());
    }

    [Fact]
    public void Scope_disposes_its_tensors_but_not_those_moved_out()
    {
        long before = Tensor.LiveHandleCount;
        Tensor kept;
        using (var outer = torch.NewDisposeScope())
        {
            using (var inner = torch.NewDisposeScope())
            {
                var a = torch.ones([2]);
                kept = (a + 1).MoveToOuterDisposeScope();
                Assert.Equal(1, inner.Count); // `a`; the sum moved out
            }
            Assert.False(kept.IsDisposed);
            Assert.Equal(new float[] { 2, 2 }, kept.ToArray<float>());
        }
        Assert.True(kept.IsDisposed);
        Assert.Equal(before, Tensor.LiveHandleCount);
    }

    [Fact]
    public void Module_to_keeps_parameter_identity_and_names_follow_registration()
    {
        using var model = new Mlp();
        var names = model.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], names);
        var first = model.parameters().First();
        model.to(Device.CPU, ScalarType.Float64);
        Assert.Same(first, model.parameters().First());
        Assert.Equal(ScalarType.Float64, first.dtype);
        Assert.True(first.requires_grad);
    }

    [Fact]
    public void No_grad_and_inference_mode_restore_the_previous_state()
    {
        Assert.True(torch.is_grad_enabled());
        using (torch.no_grad())
        {
            Assert.False(torch.is_grad_enabled());
            using (torch.enable_grad()) Assert.True(torch.is_grad_enabled());
            Assert.False(torch.is_grad_enabled());
        }
        Assert.True(torch.is_grad_enabled());
        using (torch.inference_mode())
        {
            Assert.True(torch.is_inference_mode_enabled());
            using var t = torch.ones([2], requires_grad: false) * 2;
            Assert.False(t.requires_grad);
        }
        Assert.False(torch.is_inference_mode_enabled());
    }
}
