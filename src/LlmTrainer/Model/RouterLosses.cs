using LlmTrainer.Torch;

namespace LlmTrainer.Model;

/// <summary>
/// The router losses of one forward pass through a mixture-of-experts model, gathered from its MoE layers as they run
/// (pass one to <see cref="Llama.loss"/>): Switch Transformer's load-balancing loss and ST-MoE's router z-loss, each
/// averaged over the layers, and what training adds to the language-model loss for them. The tensors belong to the
/// dispose scope the forward ran in.
/// </summary>
public sealed class RouterLosses(double auxLossCoef = 0, double zLossCoef = 0)
{
    private Tensor? auxSum, zSum;

    /// <summary>The weight of the load-balancing loss in the training loss (moe_aux_loss_coef).</summary>
    public double AuxLossCoef { get; } = auxLossCoef;

    /// <summary>The weight of the z-loss in the training loss (moe_z_loss_coef).</summary>
    public double ZLossCoef { get; } = zLossCoef;

    /// <summary>MoE layers added so far.</summary>
    public int Layers { get; private set; }

    /// <summary>n_experts · Σᵢ fᵢ·Pᵢ averaged over the layers (1 when balanced); null before any MoE layer ran.</summary>
    public Tensor? AuxLoss => auxSum is null ? null : auxSum / Layers;

    /// <summary>The mean squared log-partition of the router logits, averaged over the layers; null before any MoE layer ran.</summary>
    public Tensor? ZLoss => zSum is null ? null : zSum / Layers;

    /// <summary>aux_coef · aux + z_coef · z: what the training loss adds to the language-model loss.</summary>
    public Tensor Weighted()
    {
        if (auxSum is null || zSum is null) throw new InvalidOperationException("no MoE layer has added its router losses");
        return (auxSum * AuxLossCoef + zSum * ZLossCoef) / Layers;
    }

    /// <summary>Hands the sums to the dispose scope outside the current one (a forward that runs in its own scope).</summary>
    internal void MoveToOuterDisposeScope()
    {
        auxSum?.MoveToOuterDisposeScope();
        zSum?.MoveToOuterDisposeScope();
    }

    /// <summary>Adds one layer's load-balancing and z losses (scalar tensors).</summary>
    public void Add(Tensor aux, Tensor z)
    {
        auxSum = auxSum is null ? aux : auxSum + aux;
        zSum = zSum is null ? z : zSum + z;
        Layers++;
    }
}
