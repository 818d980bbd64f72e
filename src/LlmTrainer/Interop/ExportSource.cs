using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// What an export writes: a model's shape, its weights under Hugging Face names (on any device, any float dtype: each
/// tensor is converted as it is written) and its tokenizer.
/// </summary>
public sealed record ExportSource(LlamaConfig Config, IReadOnlyDictionary<string, Tensor> Weights, Tokenizer Tokenizer, string Name)
{
    /// <summary>The load-balancing loss weight a Mixtral config records (<c>router_aux_loss_coef</c>).</summary>
    public double RouterAuxLossCoef { get; init; } = 0.01;

    public Tensor Weight(string name) => Weights.TryGetValue(name, out var t)
        ? t
        : throw new LlmTrainerException($"the model has no weight '{name}'; it cannot be exported.");

    /// <summary>A weight as contiguous host bytes in <paramref name="dtype"/>.</summary>
    public static byte[] Bytes(Tensor t, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        return t.to(Device.CPU, dtype).contiguous().ToBytes();
    }
}
