namespace LlmTrainer.Model;

/// <summary>The shape of a LLaMA decoder. Head size is d_model / n_head; n_kv_head divides n_head (grouped-query attention).</summary>
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
    double Dropout = 0)
{
    public int HeadDim => DModel / NHead;

    /// <summary>Throws with the offending key when the shape cannot work.</summary>
    public void Validate()
    {
        if (VocabSize <= 0) throw new ArgumentException("vocab_size must be positive");
        if (DModel <= 0 || NLayer <= 0 || NHead <= 0 || NKvHead <= 0 || FfnHidden <= 0 || BlockSize <= 0)
            throw new ArgumentException("d_model, n_layer, n_head, n_kv_head, ffn_hidden and block_size must be positive");
        if (DModel % NHead != 0) throw new ArgumentException($"d_model ({DModel}) must be divisible by n_head ({NHead})");
        if (NHead % NKvHead != 0) throw new ArgumentException($"n_head ({NHead}) must be divisible by n_kv_head ({NKvHead})");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head size d_model/n_head ({HeadDim}) must be even for RoPE");
    }
}
