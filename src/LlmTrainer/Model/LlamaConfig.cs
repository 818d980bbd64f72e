using System.Globalization;
using System.Text;

namespace LlmTrainer.Model;

/// <summary>
/// The shape of a LLaMA decoder. Head size is d_model / n_head; n_kv_head divides n_head (grouped-query attention).
/// With <see cref="NExperts"/> ≥ 2 every MLP is a Mixtral-style mixture of experts: a router picks
/// <see cref="ExpertsPerToken"/> of <see cref="NExperts"/> SwiGLU experts (each <see cref="FfnHidden"/> wide) per token.
/// </summary>
/// <param name="MoeCapacityFactor">
/// 0: no token is ever dropped. Otherwise, in training, an expert takes at most
/// ⌈factor · tokens · experts_per_token / n_experts⌉ of a batch's tokens, first come (by position) first served;
/// the rest skip that expert (Switch Transformer's capacity). Evaluation and sampling never drop tokens.
/// </param>
/// <param name="DocMask">
/// A token attends only to earlier tokens of its own document in the packed sequence; documents begin with
/// <paramref name="DocumentSeparator"/> (the end-of-text id). Rotary positions then count from each document's start
/// in effect, RoPE's scores depending only on the distance between tokens.
/// </param>
public sealed record LlamaConfig(
    int VocabSize,
    int DModel,
    int NLayer,
    int NHead,
    int NKvHead,
    int FfnHidden,
    int BlockSize,
    double NormEps = 1e-5,
    double RopeTheta = 10000,
    bool TieEmbeddings = false,
    double Dropout = 0,
    int NExperts = 0,
    int ExpertsPerToken = 2,
    double MoeCapacityFactor = 0,
    bool DocMask = false,
    int DocumentSeparator = -1)
{
    public int HeadDim => DModel / NHead;

    /// <summary>Whether the MLPs are mixtures of experts (two experts or more).</summary>
    public bool IsMoe => NExperts >= 2;

    /// <summary>Throws with the offending key when the shape cannot work.</summary>
    public void Validate()
    {
        if (VocabSize <= 0) throw new ArgumentException("vocab_size must be positive");
        if (DModel <= 0 || NLayer <= 0 || NHead <= 0 || NKvHead <= 0 || FfnHidden <= 0 || BlockSize <= 0)
            throw new ArgumentException("d_model, n_layer, n_head, n_kv_head, ffn_hidden and block_size must be positive");
        if (DModel % NHead != 0) throw new ArgumentException($"d_model ({DModel}) must be divisible by n_head ({NHead})");
        if (NHead % NKvHead != 0) throw new ArgumentException($"n_head ({NHead}) must be divisible by n_kv_head ({NKvHead})");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head size d_model/n_head ({HeadDim}) must be even for RoPE");
        if (NExperts is < 0 or 1) throw new ArgumentException($"n_experts ({NExperts}) must be 0 (a dense MLP) or at least 2");
        if (IsMoe && (ExpertsPerToken < 1 || ExpertsPerToken > NExperts))
            throw new ArgumentException($"experts_per_token ({ExpertsPerToken}) must be between 1 and n_experts ({NExperts})");
        if (!(MoeCapacityFactor >= 0) || double.IsInfinity(MoeCapacityFactor))
            throw new ArgumentException($"moe_capacity_factor ({MoeCapacityFactor}) must be 0 (no dropping) or positive");
        if (DocMask && (DocumentSeparator < 0 || DocumentSeparator >= VocabSize))
            throw new ArgumentException($"doc_mask needs the document separator (end-of-text) id in 0..{VocabSize - 1}; got {DocumentSeparator}");
    }

    /// <summary>
    /// The members as a record prints them, with the MoE ones only for a mixture of experts and the document-mask ones
    /// only with doc_mask: a dense model reads as it did before either existed, and so does the config hash of its
    /// checkpoints (taken over this text).
    /// </summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.CurrentCulture,
            $"VocabSize = {VocabSize}, DModel = {DModel}, NLayer = {NLayer}, NHead = {NHead}, NKvHead = {NKvHead}, FfnHidden = {FfnHidden}, " +
            $"BlockSize = {BlockSize}, NormEps = {NormEps}, RopeTheta = {RopeTheta}, TieEmbeddings = {TieEmbeddings}, Dropout = {Dropout}, ");
        if (IsMoe)
            builder.Append(CultureInfo.CurrentCulture,
                $"NExperts = {NExperts}, ExpertsPerToken = {ExpertsPerToken}, MoeCapacityFactor = {MoeCapacityFactor}, ");
        // Document masking changes what the weights compute; the separator id belongs to the tokenizer (checked by its hash).
        if (DocMask)
            builder.Append(CultureInfo.CurrentCulture, $"DocMask = True, ");
        builder.Append(CultureInfo.CurrentCulture, $"HeadDim = {HeadDim}");
        return true;
    }
}
