using LlmTrainer.Progress;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// Writes a model as llama.cpp's GGUF: architecture <c>llama</c> with its hyperparameter keys, tensors under llama.cpp's
/// names (token_embd, blk.N.attn_q/k/v/output, attn_norm, ffn_gate/up/down, ffn_norm, output_norm, output; a mixture of
/// experts as ffn_gate_inp and the stacked ffn_gate_exps/ffn_up_exps/ffn_down_exps), and the tokenizer embedded as a
/// GPT-2-style BPE (<c>tokenizer.ggml.model = gpt2</c>) or, for a SentencePiece tokenizer, as Llama's
/// (<c>tokenizer.ggml.model = llama</c>). As llama.cpp's own converter does, the query and key rows are put
/// in the interleaved rotary order llama.cpp computes with (<see cref="RotaryLayout"/>), and one-dimensional tensors
/// (the norms) and the router stay float32 whatever the chosen dtype.
/// </summary>
public static class GgufExport
{
    /// <summary>llama.cpp's token types (a SentencePiece piece type is the same number).</summary>
    private const int Normal = 1, Control = 3, Unused = 5;

    /// <summary>llama.cpp's general.file_type for all-F32, mostly-F16 and mostly-BF16 files.</summary>
    private static uint FileType(WeightDtype dtype) => dtype switch
    {
        WeightDtype.F16 => 1,
        WeightDtype.BF16 => 32,
        _ => 0,
    };

    /// <summary>Refuses, before anything is written, a tokenizer that llama.cpp would not encode as we do.</summary>
    public static void Check(Tokenizer tokenizer)
    {
        switch (tokenizer)
        {
            case ByteLevelBpeTokenizer bpe:
                PreTokenizerName(bpe);
                break;
            case SentencePieceTokenizer sp:
                SentencePieceVocab.Exportable(sp, "gguf");
                break;
            default:
                throw new LlmTrainerException($"--format gguf cannot embed a {tokenizer.Kind} tokenizer; export with --format hf instead.");
        }
    }

    /// <summary>llama.cpp's name for a pre-tokenisation regex (tokenizer.ggml.pre).</summary>
    public static string PreTokenizerName(ByteLevelBpeTokenizer tokenizer) => tokenizer.Pattern switch
    {
        Patterns.Gpt2 => "gpt-2",
        Patterns.Cl100k or Patterns.Cl100kPossessive => "llama-bpe",
        _ => throw new LlmTrainerException(
            "this tokenizer's pre-tokenisation pattern has no llama.cpp name (it knows GPT-2's and cl100k's); a GGUF export would tokenize differently in llama.cpp. Export with --format hf instead."),
    };

    public static void Write(ExportSource source, string path, WeightDtype dtype, IProgressReporter progress)
    {
        var c = source.Config;
        var tokenizer = source.Tokenizer;
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("general.name", source.Name);
        w.Add("general.alignment", (uint)GgufWriter.Alignment);
        w.Add("general.file_type", FileType(dtype));
        w.Add("llama.vocab_size", (uint)c.VocabSize);
        w.Add("llama.context_length", (uint)c.BlockSize);
        w.Add("llama.embedding_length", (uint)c.DModel);
        w.Add("llama.block_count", (uint)c.NLayer);
        w.Add("llama.feed_forward_length", (uint)c.FfnHidden);
        w.Add("llama.attention.head_count", (uint)c.NHead);
        w.Add("llama.attention.head_count_kv", (uint)c.NKvHead);
        w.Add("llama.rope.dimension_count", (uint)c.HeadDim);
        w.Add("llama.rope.freq_base", (float)c.RopeTheta);
        w.Add("llama.attention.layer_norm_rms_epsilon", (float)c.NormEps);
        if (c.IsMoe)
        {
            w.Add("llama.expert_count", (uint)c.NExperts);
            w.Add("llama.expert_used_count", (uint)c.ExpertsPerToken);
        }

        Check(tokenizer);
        if (tokenizer is SentencePieceTokenizer sp)
            AddLlamaTokenizer(w, sp, c.VocabSize);
        else
            AddGpt2Tokenizer(w, (ByteLevelBpeTokenizer)tokenizer, c.VocabSize);

        var type = dtype switch { WeightDtype.F16 => GgmlType.F16, WeightDtype.BF16 => GgmlType.BF16, _ => GgmlType.F32 };
        void Put(string name, string from, GgmlType? forced = null, Func<Tensor, Tensor>? transform = null)
        {
            var t = source.Weight(from);
            var ggml = forced ?? (t.dim() == 1 ? GgmlType.F32 : type);
            w.AddTensor(name, ggml, t.shape, () =>
            {
                using var scope = torch.NewDisposeScope();
                return ExportSource.Bytes(transform is null ? t : transform(t), ToScalar(ggml));
            });
        }
        void Experts(string name, int layer, string which)
        {
            var parts = Enumerable.Range(0, c.NExperts).Select(e => source.Weight($"model.layers.{layer}.block_sparse_moe.experts.{e}.{which}.weight")).ToList();
            long[] shape = [c.NExperts, .. parts[0].shape];
            w.AddTensor(name, type, shape, () =>
            {
                using var scope = torch.NewDisposeScope();
                return ExportSource.Bytes(torch.stack(parts), ToScalar(type));
            });
        }

        Put("token_embd.weight", "model.embed_tokens.weight");
        for (int i = 0; i < c.NLayer; i++)
        {
            string p = $"model.layers.{i}.", b = $"blk.{i}.";
            Put(b + "attn_norm.weight", p + "input_layernorm.weight");
            Put(b + "attn_q.weight", p + "self_attn.q_proj.weight", transform: t => RotaryLayout.ToInterleaved(t, c.NHead));
            Put(b + "attn_k.weight", p + "self_attn.k_proj.weight", transform: t => RotaryLayout.ToInterleaved(t, c.NKvHead));
            Put(b + "attn_v.weight", p + "self_attn.v_proj.weight");
            Put(b + "attn_output.weight", p + "self_attn.o_proj.weight");
            Put(b + "ffn_norm.weight", p + "post_attention_layernorm.weight");
            if (c.IsMoe)
            {
                Put(b + "ffn_gate_inp.weight", p + "block_sparse_moe.gate.weight", GgmlType.F32);
                Experts(b + "ffn_gate_exps.weight", i, "w1");
                Experts(b + "ffn_down_exps.weight", i, "w2");
                Experts(b + "ffn_up_exps.weight", i, "w3");
            }
            else
            {
                Put(b + "ffn_gate.weight", p + "mlp.gate_proj.weight");
                Put(b + "ffn_up.weight", p + "mlp.up_proj.weight");
                Put(b + "ffn_down.weight", p + "mlp.down_proj.weight");
            }
        }
        Put("output_norm.weight", "model.norm.weight");
        if (!c.TieEmbeddings)
            Put("output.weight", "lm_head.weight");

        w.Write(path, (done, total) => progress.Report(new ProgressUpdate("export", done / 1e6, total / 1e6, "MB")));
    }

    /// <summary>A byte-level BPE tokenizer as llama.cpp's <c>gpt2</c> tokenizer: byte-level token strings, merges and the pre-tokenizer's name.</summary>
    private static void AddGpt2Tokenizer(GgufWriter w, ByteLevelBpeTokenizer tokenizer, int vocabSize)
    {
        var tokens = new List<string>(vocabSize);
        var types = new List<int>(vocabSize);
        for (int id = 0; id < vocabSize; id++)
        {
            if (id < tokenizer.VocabSize && tokenizer.IsSpecial(id))
            {
                tokens.Add(System.Text.Encoding.UTF8.GetString(tokenizer.TokenBytes(id)));
                types.Add(Control);
            }
            else if (id < tokenizer.VocabSize && tokenizer.TokenBytes(id).Length > 0)
            {
                tokens.Add(ByteLevel.Encode(tokenizer.TokenBytes(id)));
                types.Add(Normal);
            }
            else
            {
                tokens.Add($"[PAD{id}]");
                types.Add(Unused);
            }
        }
        w.Add("tokenizer.ggml.model", "gpt2");
        w.Add("tokenizer.ggml.pre", PreTokenizerName(tokenizer));
        w.Add("tokenizer.ggml.tokens", tokens);
        w.Add("tokenizer.ggml.token_type", types);
        w.Add("tokenizer.ggml.merges", tokenizer.Merges.Select(m => ByteLevel.Encode(tokenizer.TokenBytes(m.Left)) + " " + ByteLevel.Encode(tokenizer.TokenBytes(m.Right))).ToList());
        w.Add("tokenizer.ggml.bos_token_id", (uint)tokenizer.EndOfTextId);
        w.Add("tokenizer.ggml.eos_token_id", (uint)tokenizer.EndOfTextId);
        w.Add("tokenizer.ggml.unknown_token_id", (uint)tokenizer.EndOfTextId);
        // Training documents start with the end-of-text token: llama.cpp should put it before a prompt too.
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add("tokenizer.ggml.add_eos_token", false);
    }

    /// <summary>
    /// A SentencePiece tokenizer as llama.cpp's <c>llama</c> tokenizer, as its converter writes one: the pieces (U+2581 for a
    /// space, <c>&lt;0xXX&gt;</c> bytes), their scores, their types (SentencePiece's piece types are llama.cpp's token types)
    /// the ids of &lt;s&gt;, &lt;/s&gt; and &lt;unk&gt;, and whether a space goes before a text (add_dummy_prefix). Ids above
    /// the tokenizer are unused padding.
    /// </summary>
    private static void AddLlamaTokenizer(GgufWriter w, SentencePieceTokenizer tokenizer, int vocabSize)
    {
        var tokens = new List<string>(vocabSize);
        var scores = new List<float>(vocabSize);
        var types = new List<int>(vocabSize);
        for (int id = 0; id < vocabSize; id++)
        {
            bool known = id < tokenizer.VocabSize;
            tokens.Add(known ? SentencePieceVocab.ModelPiece(tokenizer, id) : $"[PAD{id}]");
            scores.Add(known ? tokenizer.Score(id) : 0);
            types.Add(known ? (int)tokenizer.Type(id) : Unused);
        }
        w.Add("tokenizer.ggml.model", "llama");
        w.Add("tokenizer.ggml.tokens", tokens);
        w.Add("tokenizer.ggml.scores", scores);
        w.Add("tokenizer.ggml.token_type", types);
        w.Add("tokenizer.ggml.bos_token_id", (uint)tokenizer.BosId);
        w.Add("tokenizer.ggml.eos_token_id", (uint)tokenizer.EosId);
        w.Add("tokenizer.ggml.unknown_token_id", (uint)SentencePieceVocab.UnknownId(tokenizer));
        w.Add("tokenizer.ggml.add_space_prefix", tokenizer.AddsDummyPrefix);
        // Training documents start with <s>: llama.cpp should put it before a prompt too.
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add("tokenizer.ggml.add_eos_token", false);
    }

    private static ScalarType ToScalar(GgmlType t) => t switch
    {
        GgmlType.F16 => ScalarType.Float16,
        GgmlType.BF16 => ScalarType.BFloat16,
        _ => ScalarType.Float32,
    };
}
