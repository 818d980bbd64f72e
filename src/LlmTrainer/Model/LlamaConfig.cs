using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LlmTrainer.Model;

/// <summary>
/// The shape of a LLaMA decoder: what <see cref="Llama"/> is built from, what a training config resolves to
/// (<see cref="Config.TrainConfig.ToModelConfig"/>), and what parameter counts and FLOPs are computed from
/// (LlamaConfig.Counts.cs). Head size is d_model / n_head; n_kv_head divides n_head (grouped-query attention).
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
public sealed partial record LlamaConfig(
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

    /// <summary>
    /// Every reason the shape cannot work, each with the config key to change and a message that says how; none when it
    /// can. The config check reports these under the keys' sources; <see cref="Validate"/> throws them.
    /// </summary>
    public IEnumerable<(string Key, string Message)> Problems()
    {
        (string Key, int Value)[] sizes =
            [("vocab_size", VocabSize), ("d_model", DModel), ("n_layer", NLayer), ("n_head", NHead), ("n_kv_head", NKvHead), ("ffn_hidden", FfnHidden), ("block_size", BlockSize)];
        var nonPositive = sizes.Where(s => s.Value <= 0).ToList();
        foreach (var (key, value) in nonPositive)
            yield return (key, $"must be at least 1, got {value}.");
        if (nonPositive.Count > 0)
            yield break; // the checks below divide by these

        if (DModel % NHead != 0)
            yield return ("n_head", $"d_model {DModel} is not divisible by n_head {NHead}; use an n_head that divides d_model with an even quotient, e.g. {HeadCounts(DModel)}.");
        else
        {
            if (HeadDim % 2 != 0)
                yield return ("n_head", $"head dimension d_model/n_head = {DModel}/{NHead} = {HeadDim} is odd, and rotary embeddings rotate pairs of dimensions; use an n_head with an even quotient, e.g. {HeadCounts(DModel)}.");
            if (NHead % NKvHead != 0)
            {
                var divisors = Enumerable.Range(1, NHead).Where(k => NHead % k == 0);
                yield return ("n_kv_head", $"n_head {NHead} is not divisible by n_kv_head {NKvHead} (each key/value head serves a whole group of query heads); use one of {string.Join(", ", divisors)} ({NHead}: plain multi-head attention).");
            }
        }

        if (NExperts < 0)
            yield return ("n_experts", $"must be 0 (a dense MLP) or at least 2, got {NExperts}.");
        else if (NExperts == 1)
            yield return ("n_experts", "is 1, which is a dense MLP with an extra router; use 0 for a dense MLP or at least 2 for a mixture of experts.");
        else if (IsMoe && (ExpertsPerToken < 1 || ExpertsPerToken > NExperts))
            yield return ("experts_per_token", $"must be between 1 and n_experts ({NExperts}), got {ExpertsPerToken}; Mixtral uses 2.");
        if (!(MoeCapacityFactor >= 0) || double.IsInfinity(MoeCapacityFactor))
            yield return ("moe_capacity_factor", $"must be 0 (no token dropped) or positive, got {MoeCapacityFactor.ToString("R", CultureInfo.InvariantCulture)}; Switch Transformer uses 1.25.");
        if (DocMask && (DocumentSeparator < 0 || DocumentSeparator >= VocabSize))
            yield return ("doc_mask", $"needs the document separator (end-of-text) id in 0..{VocabSize - 1}, got {DocumentSeparator}.");
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming each offending key when the shape cannot work.</summary>
    public void Validate()
    {
        var problems = Problems().Select(p => $"{p.Key}: {p.Message}").ToList();
        if (problems.Count > 0)
            throw new ArgumentException(string.Join(" ", problems));
    }

    /// <summary>Head counts that give an even head dimension of at least 16, as examples for the fix.</summary>
    private static string HeadCounts(int dModel)
    {
        var heads = Enumerable.Range(1, Math.Min(dModel / 16, 1024)).Where(h => dModel % h == 0 && dModel / h % 2 == 0).Take(8).ToArray();
        return heads.Length > 0 ? string.Join(", ", heads) : "1";
    }

    /// <summary>
    /// A hash of what makes checkpoints compatible: the shape and routing, not what only training does with them (dropout,
    /// the capacity factor). It is taken over the text <see cref="PrintMembers"/> writes, so that text stays as it is.
    /// </summary>
    public string ConfigHash()
    {
        var text = (this with { Dropout = 0, MoeCapacityFactor = 0 }).ToString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
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
