namespace LlmTrainer.Model;

/// <summary>
/// What follows from the sizes: exact parameter counts and the training cost per token. Counts match the parameter
/// tensors of <see cref="Llama"/> and of Hugging Face's <c>LlamaForCausalLM</c> (no biases, no rotary parameters); with
/// MoE each layer holds a router and <c>n_experts</c> SwiGLU MLPs.
/// </summary>
public sealed partial record LlamaConfig
{
    public long EmbeddingParameters => (long)VocabSize * DModel;

    /// <summary>q and o map d→d; k and v map d→n_kv_head·head_dim (smaller under grouped-query attention).</summary>
    public long AttentionParametersPerLayer => 2L * DModel * DModel + 2L * DModel * NKvHead * HeadDim;

    /// <summary>One SwiGLU MLP: gate and up (d→ffn) and down (ffn→d).</summary>
    public long ExpertParameters => 3L * DModel * FfnHidden;

    /// <summary>The MLP block of one layer: one SwiGLU, or a router (d→n_experts) and n_experts SwiGLUs.</summary>
    public long MlpParametersPerLayer => IsMoe ? (long)DModel * NExperts + NExperts * ExpertParameters : ExpertParameters;

    /// <summary>The two RMSNorm weights of a layer (before attention and before the MLP).</summary>
    public long NormParametersPerLayer => 2L * DModel;

    public long LayerParameters => AttentionParametersPerLayer + MlpParametersPerLayer + NormParametersPerLayer;

    public long FinalNormParameters => DModel;

    /// <summary>0 when the LM head reuses the embedding matrix.</summary>
    public long LmHeadParameters => TieEmbeddings ? 0 : (long)VocabSize * DModel;

    public long TotalParameters => EmbeddingParameters + NLayer * LayerParameters + FinalNormParameters + LmHeadParameters;

    /// <summary>Parameters one token passes through: with MoE only the router and <c>experts_per_token</c> experts count.</summary>
    public long ActiveParameters => IsMoe
        ? TotalParameters - NLayer * (long)(NExperts - ExpertsPerToken) * ExpertParameters
        : TotalParameters;

    /// <summary>
    /// Parameters that take part in a matrix product for each token: the active parameters without the
    /// embedding lookup (which costs no FLOPs), but with the LM head's V·d product even when it is tied.
    /// </summary>
    public long MatmulParameters => ActiveParameters - EmbeddingParameters + (TieEmbeddings ? (long)VocabSize * DModel : 0);

    /// <summary>
    /// Training FLOPs per token (forward and backward), the estimate of PaLM (Chowdhery et al. 2022,
    /// appendix B) that nanoGPT's MFU also uses: 6·N for the weight products (2 forward, 4 backward per
    /// weight) plus 12·n_layer·d_model·T for attention's QKᵀ and AV products at context length T
    /// (n_head·head_dim = d_model; the causal mask is not discounted, as in the original).
    /// </summary>
    public double TrainingFlopsPerToken(int? contextLength = null) =>
        6.0 * MatmulParameters + 12.0 * NLayer * DModel * (contextLength ?? BlockSize);
}
