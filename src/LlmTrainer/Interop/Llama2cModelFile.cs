using System.Buffers.Binary;
using System.Runtime.InteropServices;
using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Interop;

/// <summary>
/// Reads llama2.c model files: the legacy version 0 (seven int32, then float32 weights in run.c's order with the rotary
/// tables) and the versioned files of llama2.c's export.py, a 256-byte header starting with the magic "ak42"
/// (0x616b3432) and a version: 1 (float32 weights, norms first) or 2 (Q8_0: int8 weights with a float32 scale per
/// group, dequantised here). The weights come back under Hugging Face names in our rotary layout; the file's size must
/// be exactly what its header describes.
/// </summary>
public static class Llama2cModelFile
{
    public const uint Magic = 0x616b3432;
    private const int VersionedHeaderBytes = 256;

    public sealed record Contents(LlamaConfig Config, int Version, Dictionary<string, Tensor> Weights);

    /// <summary>Whether the file starts like a llama2.c model (a versioned magic, or a plausible version-0 header).</summary>
    public static bool Looks(string path)
    {
        try
        {
            return ReadHeader(path, out _) is not null;
        }
        catch (LlmTrainerException)
        {
            return false;
        }
    }

    /// <summary>Why the file is not a llama2.c model (null when it is one).</summary>
    public static string? WhyNot(string path)
    {
        try
        {
            return ReadHeader(path, out var error) is null ? error : null;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }

    /// <summary>The model shape and format version, from the header alone.</summary>
    public static (LlamaConfig Config, int Version) ReadShape(string path) =>
        ReadHeader(path, out var error) is { } h ? (h.Config, h.Version) : throw new LlmTrainerException(error!);

    internal sealed record Header(LlamaConfig Config, int Version, bool Shared, int GroupSize, long DataStart);

    private static Header? ReadHeader(string path, out string? error)
    {
        error = null;
        long length = new FileInfo(path).Length;
        var head = new byte[VersionedHeaderBytes];
        int got;
        using (var stream = File.OpenRead(path))
            got = stream.ReadAtLeast(head, Math.Min(head.Length, (int)Math.Min(length, head.Length)), throwOnEndOfStream: false);
        if (got < 28)
        {
            error = $"{path} is {length} bytes, too short for a llama2.c model header; it is not a llama2.c .bin.";
            return null;
        }
        int Int(int offset) => BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(offset));
        int version;
        int[] f;
        bool shared;
        int groupSize = 0;
        long dataStart;
        if (BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan()) == Magic)
        {
            if (got < VersionedHeaderBytes)
            {
                error = $"{path} starts with llama2.c's magic 'ak42' but is shorter than its 256-byte header; the file is truncated.";
                return null;
            }
            version = Int(4);
            if (version is not (1 or 2))
            {
                error = $"{path} is a llama2.c model of version {version}; llmtrain reads versions 0, 1 (float32) and 2 (int8 Q8_0).";
                return null;
            }
            f = [Int(8), Int(12), Int(16), Int(20), Int(24), Int(28), Int(32)];
            shared = head[36] != 0;
            if (version == 2) groupSize = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(37));
            dataStart = VersionedHeaderBytes;
        }
        else
        {
            version = 0;
            f = [Int(0), Int(4), Int(8), Int(12), Int(16), Int(20), Int(24)];
            shared = f[5] > 0;
            f[5] = f[5] == int.MinValue ? 0 : Math.Abs(f[5]); // int.MinValue has no absolute value: a damaged header, refused below
            dataStart = 28;
        }
        var (dim, hidden, layers, heads, kvHeads, vocab, seqLen) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
        var config = new LlamaConfig(vocab, dim, layers, heads, kvHeads, hidden, seqLen, Llama2cExport.RunCNormEps, Llama2cExport.RunCRopeTheta, shared);
        if (dim > 1 << 16 || layers > 1 << 10 || vocab > 1 << 22 || seqLen > 1 << 22 || config.Problems().Any())
        {
            error = $"{path}: header [dim {dim}, hidden_dim {hidden}, n_layers {layers}, n_heads {heads}, n_kv_heads {kvHeads}, vocab_size {vocab}, seq_len {seqLen}] is not a llama2.c model's.";
            return null;
        }
        if (version == 2 && (groupSize <= 0 || Matrices(config).Any(m => m.Rows * m.Cols % groupSize != 0)))
        {
            error = $"{path}: Q8_0 group size {groupSize} does not divide every weight matrix; the file is corrupt.";
            return null;
        }
        long expected = dataStart + ExpectedDataBytes(config, version, groupSize);
        if (length != expected)
        {
            error = $"{path} is {length} bytes but its llama2.c version-{version} header (dim {dim}, {layers} layers, vocab {vocab}, seq_len {seqLen}) describes {expected}; the file is truncated or not a llama2.c model.";
            return null;
        }
        return new Header(config, version, shared, groupSize, dataStart);
    }

    /// <summary>Float32 weights a file holds (version 0 counts the rotary tables).</summary>
    public static long WeightCount(LlamaConfig c, bool legacy)
    {
        long norms = (2L * c.NLayer + 1) * c.DModel;
        long matrices = Matrices(c).Sum(m => m.Rows * m.Cols);
        long rope = legacy ? 2L * c.BlockSize * (c.HeadDim / 2) : 0;
        return norms + matrices + rope;
    }

    private static long ExpectedDataBytes(LlamaConfig c, int version, int groupSize)
    {
        if (version < 2) return WeightCount(c, legacy: version == 0) * 4;
        long norms = (2L * c.NLayer + 1) * c.DModel * 4;
        return norms + Matrices(c).Sum(m => m.Rows * m.Cols + m.Rows * m.Cols / groupSize * 4);
    }

    /// <summary>The matrices in file order (embedding, wq.., wk.., wv.., wo.., w1.., w2.., w3.., classifier) under HF names.</summary>
    private static List<(string Name, long Rows, long Cols)> Matrices(LlamaConfig c)
    {
        long d = c.DModel, kv = (long)c.NKvHead * c.HeadDim, ff = c.FfnHidden;
        var list = new List<(string, long, long)> { ("model.embed_tokens.weight", c.VocabSize, d) };
        void Layers(string suffix, long rows, long cols)
        {
            for (int i = 0; i < c.NLayer; i++) list.Add(($"model.layers.{i}.{suffix}", rows, cols));
        }
        Layers("self_attn.q_proj.weight", d, d);
        Layers("self_attn.k_proj.weight", kv, d);
        Layers("self_attn.v_proj.weight", kv, d);
        Layers("self_attn.o_proj.weight", d, d);
        Layers("mlp.gate_proj.weight", ff, d);
        Layers("mlp.down_proj.weight", d, ff);
        Layers("mlp.up_proj.weight", ff, d);
        if (!c.TieEmbeddings) list.Add(("lm_head.weight", c.VocabSize, d));
        return list;
    }

    /// <summary>run.c's rotary tables: cos and sin of pos·θ^(-2i/head_size), (seq_len, head_size/2) each.</summary>
    public static (float[] Real, float[] Imag) FreqCis(int seqLen, int headSize, double theta)
    {
        int half = headSize / 2;
        var real = new float[seqLen * half];
        var imag = new float[seqLen * half];
        for (int pos = 0; pos < seqLen; pos++)
        {
            for (int i = 0; i < half; i++)
            {
                double freq = 1.0 / Math.Pow(theta, 2.0 * i / headSize);
                real[pos * half + i] = (float)Math.Cos(pos * freq);
                imag[pos * half + i] = (float)Math.Sin(pos * freq);
            }
        }
        return (real, imag);
    }

    /// <summary>The weights as float arrays in the file's own rotary layout, with their shapes (no tensors: the parser alone).</summary>
    internal static (Header Header, Dictionary<string, (float[] Data, long[] Shape)> Weights) ReadArrays(string path)
    {
        var h = ReadHeader(path, out var error) ?? throw new LlmTrainerException(error!);
        var c = h.Config;
        var weights = new Dictionary<string, (float[] Data, long[] Shape)>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        stream.Position = h.DataStart;

        (float[], long[]) Floats(long rows, long cols)
        {
            var data = new float[rows * cols];
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
            return (data, cols == 1 ? [rows] : [rows, cols]);
        }
        (float[], long[]) Quantized(long rows, long cols)
        {
            long n = rows * cols;
            var q = new sbyte[n];
            stream.ReadExactly(MemoryMarshal.AsBytes(q.AsSpan()));
            var scales = new float[n / h.GroupSize];
            stream.ReadExactly(MemoryMarshal.AsBytes(scales.AsSpan()));
            var data = new float[n];
            for (long i = 0; i < n; i++) data[i] = q[i] * scales[i / h.GroupSize];
            return (data, [rows, cols]);
        }
        void Norms(string suffix)
        {
            for (int i = 0; i < c.NLayer; i++) weights[$"model.layers.{i}.{suffix}"] = Floats(c.DModel, 1);
        }

        var matrices = Matrices(c);
        if (h.Version == 0)
        {
            // Embedding, attention norms, wq, wk, wv, wo, MLP norms, w1, w2, w3, final norm, rotary tables, classifier.
            var byName = matrices.ToDictionary(m => m.Name);
            void Matrix(string name) => weights[name] = Floats(byName[name].Rows, byName[name].Cols);
            void LayerMatrices(string suffix)
            {
                for (int i = 0; i < c.NLayer; i++) Matrix($"model.layers.{i}.{suffix}");
            }
            Matrix("model.embed_tokens.weight");
            Norms("input_layernorm.weight");
            foreach (var s in new[] { "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight" })
                LayerMatrices(s);
            Norms("post_attention_layernorm.weight");
            foreach (var s in new[] { "mlp.gate_proj.weight", "mlp.down_proj.weight", "mlp.up_proj.weight" })
                LayerMatrices(s);
            weights["model.norm.weight"] = Floats(c.DModel, 1);
            stream.Seek(2L * c.BlockSize * (c.HeadDim / 2) * 4, SeekOrigin.Current);
            if (!c.TieEmbeddings) Matrix("lm_head.weight");
        }
        else
        {
            Norms("input_layernorm.weight");
            Norms("post_attention_layernorm.weight");
            weights["model.norm.weight"] = Floats(c.DModel, 1);
            foreach (var (name, rows, cols) in matrices)
                weights[name] = h.Version == 1 ? Floats(rows, cols) : Quantized(rows, cols);
        }
        return (h, weights);
    }

    /// <summary>The whole model; tensors are new CPU float32 tensors owned by the current dispose scope.</summary>
    public static Contents Read(string path)
    {
        var (h, arrays) = ReadArrays(path);
        var c = h.Config;
        var weights = arrays.ToDictionary(kv => kv.Key, kv => torch.tensor(kv.Value.Data, kv.Value.Shape));
        for (int i = 0; i < c.NLayer; i++)
        {
            var q = $"model.layers.{i}.self_attn.q_proj.weight";
            var k = $"model.layers.{i}.self_attn.k_proj.weight";
            weights[q] = RotaryLayout.ToHalves(weights[q], c.NHead);
            weights[k] = RotaryLayout.ToHalves(weights[k], c.NKvHead);
        }
        return new Contents(c, h.Version, weights);
    }
}
