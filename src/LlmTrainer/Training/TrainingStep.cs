using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Training;

/// <summary>One micro-batch's forward and backward as training runs it, shared by the trainer and <c>bench train</c>.</summary>
internal static class TrainingStep
{
    /// <summary>
    /// Backpropagates (language-model loss + router losses) / <paramref name="accumSteps"/>, where the router losses of a
    /// mixture of experts are aux_coef · load-balancing loss + z_coef · z-loss, with activation checkpointing or without.
    /// Returns the detached language-model loss and, for a mixture of experts, the detached router losses.
    /// </summary>
    public static (Tensor Loss, RouterLosses? Router) ForwardBackward(Llama model, Tensor x, Tensor y, int accumSteps, ScalarType? autocast,
        bool activationCheckpointing, double auxLossCoef, double zLossCoef)
    {
        var router = model.Config.IsMoe ? new RouterLosses(auxLossCoef, zLossCoef) : null;
        if (activationCheckpointing)
            return (model.forward_backward(x, y, lossScale: 1.0 / accumSteps, autocast, router), router);

        Tensor loss;
        using (autocast is { } dt ? torch.autocast(x.device.Type, dt) : null)
            loss = model.loss(x, y, router);
        var total = router is null ? loss : loss + router.Weighted();
        (accumSteps > 1 ? total / accumSteps : total).backward();
        return (loss.detach(), router);
    }
}
