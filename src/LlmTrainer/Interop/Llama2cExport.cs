using System.Buffers.Binary;
using System.Runtime.InteropServices;
using LlmTrainer.Progress;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// Writes llama2.c's legacy (version 0) model file, the one run.c reads: seven int32 — dim, hidden_dim, n_layers,
/// n_heads, n_kv_heads, vocab_size (negative when the classifier is not the embedding), seq_len — then float32 weights
/// in run.c's order: token embedding, every layer's attention RMSNorm, wq, wk, wv, wo, every layer's MLP RMSNorm, w1
/// (gate), w2 (down), w3 (up), the final RMSNorm, the rotary tables freq_cis_real and freq_cis_imag (seq_len × head_size/2
/// each), then the classifier when it is not shared. wq and wk rows are put in run.c's interleaved rotary order
/// (<see cref="RotaryLayout"/>), and ids 1 and end-of-text are swapped (<see cref="TokenIdSwap"/>).
/// </summary>
public static class Llama2cExport
{
    /// <summary>run.c's fixed RMSNorm epsilon and rotary base.</summary>
    public const double RunCNormEps = 1e-5, RunCRopeTheta = 10000;

    public static void Check(ExportSource source)
    {
        var c = source.Config;
        if (c.IsMoe)
            throw new LlmTrainerException("llama2.c's run.c has no mixture of experts; export this model with --format hf or --format gguf.");
        if (c.NormEps != RunCNormEps)
            throw new LlmTrainerException($"llama2.c's run.c fixes the RMSNorm epsilon at 1e-5, and this model has norm_eps {c.NormEps}; export it with --format hf or --format gguf.");
        if (c.RopeTheta != RunCRopeTheta)
            throw new LlmTrainerException($"llama2.c's run.c fixes the rotary base at 10000, and this model has rope_theta {c.RopeTheta}; export it with --format hf or --format gguf.");
    }

    public static void Write(ExportSource source, string path, IProgressReporter progress)
    {
        Check(source);
        var c = source.Config;
        var swap = TokenIdSwap.ForRunC(source.Tokenizer);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> header = stackalloc byte[28];
        int[] fields = [c.DModel, c.FfnHidden, c.NLayer, c.NHead, c.NKvHead, c.TieEmbeddings ? c.VocabSize : -c.VocabSize, c.BlockSize];
        for (int i = 0; i < fields.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(header[(i * 4)..], fields[i]);
        stream.Write(header);

        long total = Llama2cModelFile.WeightCount(c, legacy: true), done = 0;
        void Put(Tensor t)
        {
            stream.Write(ExportSource.Bytes(t, ScalarType.Float32));
            done += t.numel();
            progress.Report(new ProgressUpdate("export", done * 4 / 1e6, total * 4 / 1e6, "MB"));
        }
        void Layers(string suffix, Func<Tensor, Tensor>? transform = null)
        {
            for (int i = 0; i < c.NLayer; i++)
            {
                using var scope = torch.NewDisposeScope();
                var w = source.Weight($"model.layers.{i}.{suffix}");
                Put(transform is null ? w : transform(w));
            }
        }

        using (var scope = torch.NewDisposeScope())
        {
            var embed = source.Weight("model.embed_tokens.weight");
            Put(swap is null ? embed : swap.Rows(embed));
        }
        Layers("input_layernorm.weight");
        Layers("self_attn.q_proj.weight", w => RotaryLayout.ToInterleaved(w, c.NHead));
        Layers("self_attn.k_proj.weight", w => RotaryLayout.ToInterleaved(w, c.NKvHead));
        Layers("self_attn.v_proj.weight");
        Layers("self_attn.o_proj.weight");
        Layers("post_attention_layernorm.weight");
        Layers("mlp.gate_proj.weight");
        Layers("mlp.down_proj.weight");
        Layers("mlp.up_proj.weight");
        Put(source.Weight("model.norm.weight"));
        var (real, imag) = Llama2cModelFile.FreqCis(c.BlockSize, c.HeadDim, c.RopeTheta);
        stream.Write(MemoryMarshal.AsBytes(real.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(imag.AsSpan()));
        done += real.Length + imag.Length;
        if (!c.TieEmbeddings)
        {
            using var scope = torch.NewDisposeScope();
            var head = source.Weight("lm_head.weight");
            Put(swap is null ? head : swap.Rows(head));
        }
        stream.Flush(flushToDisk: true);
    }
}
