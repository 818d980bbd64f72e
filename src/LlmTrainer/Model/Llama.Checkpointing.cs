using LlmTrainer.Torch;

namespace LlmTrainer.Model;

public sealed partial class Llama
{
    /// <summary>
    /// <see cref="loss"/> of idx against targets and the backward of loss · <paramref name="lossScale"/>, with activation
    /// checkpointing: the forward keeps only each decoder layer's input, and the backward recomputes the layers one at a
    /// time, last first, from those inputs. Activation memory falls from n_layer layers' worth to one layer's plus
    /// n_layer hidden states, for about one more forward pass of compute. The gradients are those of the plain
    /// backward: each recomputation draws the dropout masks the forward drew (the RNG state before each layer is kept
    /// and restored for it), and <paramref name="autocast"/> applies to the forward and the recomputation alike, not
    /// to the backward, as with torch.autocast. Returns the loss, unscaled and detached.
    /// With <paramref name="router"/>, a mixture of experts also backpropagates its router losses (with the router's
    /// coefficients, each layer's during its recomputation) and leaves their detached values there, as after
    /// <see cref="loss"/>; the expert load counts the forward once.
    /// </summary>
    /// <param name="lossScale">Scales the gradients, e.g. 1/grad_accum_steps.</param>
    /// <param name="autocast">The autocast dtype on the model's device, or null for full precision.</param>
    public Tensor forward_backward(Tensor idx, Tensor targets, double lossScale = 1, ScalarType? autocast = null, RouterLosses? router = null)
    {
        using var scope = torch.NewDisposeScope();
        var device = model.embed_tokens.weight.device;
        AutocastGuard? Autocast() => autocast is { } dt ? torch.autocast(device.Type, dt) : null;
        var layers = model.layers;
        bool dropout = training && Config.Dropout > 0;

        // Forward. The embedding keeps its graph (its output is just one hidden state); the layers run without
        // autograd, each in its own scope so that its activations are freed at once, and only their inputs are kept.
        Tensor embedded;
        using (Autocast()) embedded = model.embed(idx);
        var (cos, sin) = model.rope.Slice(0, idx.size(1));
        var mask = Config.DocMask ? model.document_mask(idx, null) : null;
        var inputs = new Tensor[layers.Count];
        var rngBefore = new byte[layers.Count][];
        var h = embedded.detach();
        using (torch.no_grad())
        using (Autocast())
        {
            for (int i = 0; i < layers.Count; i++)
            {
                inputs[i] = h;
                if (dropout) rngBefore[i] = RngState(device);
                using var layerScope = torch.NewDisposeScope();
                h = layers[i].forward(h, cos, sin, null, null, mask).MoveToOuterDisposeScope();
            }
        }
        var rngAfter = dropout ? RngState(device) : null;

        // The final norm, LM head and loss from the last hidden state made a leaf: its gradient is where the layers' backward starts.
        var last = h.requires_grad_();
        Tensor loss;
        using (torch.NewDisposeScope())
        {
            using (Autocast()) loss = cross_entropy(head(model.norm.forward(last)), targets);
            (lossScale == 1 ? loss : loss * lossScale).backward();
            loss = loss.detach().MoveToOuterDisposeScope();
        }
        var grad = last.grad!;
        last.Dispose();

        // Backward, last layer first: recompute the layer with autograd from a leaf copy of its input, backpropagate the
        // gradient of its output (with the layer's router losses), and hand the leaf's gradient down to the layer before.
        var layerRouter = new (Tensor Aux, Tensor Z)[router is not null && Config.IsMoe ? layers.Count : 0];
        if (expertCounts is not null) expertCounts.Paused = true;
        try
        {
            for (int i = layers.Count - 1; i >= 0; i--)
            {
                using var layerScope = torch.NewDisposeScope();
                if (dropout) SetRngState(device, rngBefore[i]);
                var input = inputs[i].detach().requires_grad_();
                var losses = layerRouter.Length > 0 ? new RouterLosses(router!.AuxLossCoef, router.ZLossCoef) : null;
                Tensor output;
                using (Autocast()) output = layers[i].forward(input, cos, sin, null, losses, mask);
                if (losses is null)
                    output.backward(grad);
                else
                {
                    // The training loss averages the router losses over the layers.
                    torch.autograd.backward([output, losses.Weighted() * (lossScale / layers.Count)], [grad, null]);
                    layerRouter[i] = (losses.AuxLoss!.detach().MoveToOuterDisposeScope(), losses.ZLoss!.detach().MoveToOuterDisposeScope());
                }
                grad.Dispose();
                inputs[i].Dispose();
                grad = input.grad!.MoveToOuterDisposeScope();
            }
        }
        finally
        {
            if (expertCounts is not null) expertCounts.Paused = false;
        }
        foreach (var (aux, z) in layerRouter) router!.Add(aux, z); // in layer order, as the plain forward adds them
        router?.MoveToOuterDisposeScope();
        // The recomputations rewound the generator; leave it where the forward left it, as the plain path would.
        if (rngAfter is not null) SetRngState(device, rngAfter);
        embedded.backward(grad);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The state of the generator that dropout on <paramref name="device"/> draws from.</summary>
    private static byte[] RngState(Device device)
    {
        using var generator = Generator.Default(device);
        return generator.get_state();
    }

    private static void SetRngState(Device device, byte[] state)
    {
        using var generator = Generator.Default(device);
        generator.set_state(state);
    }
}
