using System.Text.Json;
using LlmTrainer.Model;

namespace LlmTrainer.Interop;

/// <summary>
/// A Hugging Face <c>config.json</c> for <c>LlamaForCausalLM</c> (or <c>MixtralForCausalLM</c> for a mixture of
/// experts): written from a <see cref="LlamaConfig"/>, and read back into one, refusing what our model cannot compute
/// (biases, rope scaling, another activation, a head size other than hidden_size / heads).
/// </summary>
public static class HfConfigJson
{
    public const string FileName = "config.json";

    public static void Write(Utf8JsonWriter w, LlamaConfig c, int bosId, int eosId, WeightDtype dtype, double routerAuxLossCoef)
    {
        w.WriteStartObject();
        w.WriteStartArray("architectures");
        w.WriteStringValue(c.IsMoe ? "MixtralForCausalLM" : "LlamaForCausalLM");
        w.WriteEndArray();
        w.WriteString("model_type", c.IsMoe ? "mixtral" : "llama");
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("hidden_size", c.DModel);
        w.WriteNumber("intermediate_size", c.FfnHidden);
        w.WriteNumber("num_hidden_layers", c.NLayer);
        w.WriteNumber("num_attention_heads", c.NHead);
        w.WriteNumber("num_key_value_heads", c.NKvHead);
        w.WriteNumber("head_dim", c.HeadDim);
        w.WriteString("hidden_act", "silu");
        w.WriteNumber("max_position_embeddings", c.BlockSize);
        w.WriteNumber("rms_norm_eps", c.NormEps);
        w.WriteNumber("rope_theta", c.RopeTheta);
        w.WriteNull("rope_scaling");
        w.WriteBoolean("attention_bias", false);
        w.WriteNumber("attention_dropout", 0.0);
        if (c.IsMoe)
        {
            w.WriteNumber("num_local_experts", c.NExperts);
            w.WriteNumber("num_experts_per_tok", c.ExpertsPerToken);
            w.WriteNumber("router_aux_loss_coef", routerAuxLossCoef);
            w.WriteBoolean("output_router_logits", false);
            w.WriteNull("sliding_window");
        }
        else
        {
            w.WriteBoolean("mlp_bias", false);
            w.WriteNumber("pretraining_tp", 1);
        }
        w.WriteBoolean("tie_word_embeddings", c.TieEmbeddings);
        w.WriteNumber("bos_token_id", bosId);
        w.WriteNumber("eos_token_id", eosId);
        w.WriteNumber("initializer_range", 0.02);
        w.WriteBoolean("use_cache", true);
        w.WriteString("torch_dtype", dtype.TorchName());
        w.WriteEndObject();
    }

    /// <summary>The model shape a config.json describes; errors name the file and the key.</summary>
    public static LlamaConfig Read(string path)
    {
        JsonDocument doc;
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                throw new LlmTrainerException($"{path} is not UTF-8 text; it is not a config.json.");
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new LlmTrainerException($"{path} is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new LlmTrainerException($"{path} is not a JSON object; a Hugging Face config.json is one.");
            string modelType = String(root, "model_type", path) ?? "";
            bool moe = modelType == "mixtral";
            if (modelType is not ("llama" or "mixtral"))
                throw new LlmTrainerException(
                    $"{path}: model_type '{modelType}' is not supported; llmtrain imports Llama (model_type llama) and Mixtral (mixtral) checkpoints.");
            if (String(root, "hidden_act", path) is { } act && act != "silu")
                throw new LlmTrainerException($"{path}: hidden_act '{act}' is not supported; llmtrain's MLP is SwiGLU (silu).");
            foreach (var bias in new[] { "attention_bias", "mlp_bias" })
            {
                if (root.TryGetProperty(bias, out var b) && b.ValueKind == JsonValueKind.True)
                    throw new LlmTrainerException($"{path}: {bias} is true; llmtrain's model has no biases.");
            }
            if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
                throw new LlmTrainerException($"{path}: rope_scaling is set ({scaling.GetRawText()}); llmtrain implements plain RoPE only.");

            int hidden = Int(root, "hidden_size", path, null);
            int heads = Int(root, "num_attention_heads", path, null);
            if (heads <= 0 || hidden % heads != 0)
                throw new LlmTrainerException($"{path}: hidden_size {hidden} is not divisible by num_attention_heads {heads}.");
            if (root.TryGetProperty("head_dim", out var hd) && hd.ValueKind != JsonValueKind.Null
                && (hd.ValueKind != JsonValueKind.Number || !hd.TryGetInt32(out int headDim) || headDim != hidden / heads))
                throw new LlmTrainerException($"{path}: head_dim {hd.GetRawText()} differs from hidden_size / num_attention_heads ({hidden / heads}); llmtrain needs them equal.");
            var config = new LlamaConfig(
                VocabSize: Int(root, "vocab_size", path, null),
                DModel: hidden,
                NLayer: Int(root, "num_hidden_layers", path, null),
                NHead: heads,
                NKvHead: Int(root, "num_key_value_heads", path, heads),
                FfnHidden: Int(root, "intermediate_size", path, null),
                BlockSize: Int(root, "max_position_embeddings", path, 2048),
                NormEps: Number(root, "rms_norm_eps", path, moe ? 1e-5 : 1e-6),
                RopeTheta: Number(root, "rope_theta", path, moe ? 1e6 : 10000),
                TieEmbeddings: root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True,
                NExperts: moe ? Int(root, "num_local_experts", path, 8) : 0,
                ExpertsPerToken: moe ? Int(root, "num_experts_per_tok", path, 2) : 2);
            try
            {
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw new LlmTrainerException($"{path}: {e.Message}", e);
            }
            return config;
        }
    }

    private static string? String(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new LlmTrainerException($"{path}: {key} must be a string, not {v.GetRawText()}.");
    }

    private static int Int(JsonElement root, string key, string path, int? fallback)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return fallback ?? throw new LlmTrainerException($"{path} has no {key}; a Llama config.json needs it.");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n <= 0)
            throw new LlmTrainerException($"{path}: {key} must be a positive integer, not {v.GetRawText()}.");
        return n;
    }

    private static double Number(JsonElement root, string key, string path, double fallback)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !(d > 0) || !double.IsFinite(d))
            throw new LlmTrainerException($"{path}: {key} must be a positive number, not {v.GetRawText()}.");
        return d;
    }
}
