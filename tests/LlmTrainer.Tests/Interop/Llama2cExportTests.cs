using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LlmTrainer.Checkpoints;
using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Interop;

/// <summary>The C reader of llama2.c's format (Fixtures/llama2c_forward.c), compiled once with gcc.</summary>
public sealed class Llama2cReader : IDisposable
{
    public Llama2cReader()
    {
        Directory = InteropFixture.TempDirectory();
        Executable = Path.Combine(Directory, "llama2c_forward");
        var (code, output) = Llama2cExportTests.Run("gcc", ["-O1", "-Wall", "-Werror", "-o", Executable, Path.Combine(InteropFixture.Directory, "llama2c_forward.c"), "-lm"]);
        if (code != 0) throw new InvalidOperationException($"gcc failed ({code}); scripts/setup.sh installs it:\n{output}");
    }

    public string Directory { get; }

    public string Executable { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[Collection("torch")]
public sealed class Llama2cExportTests(Llama2cReader reader) : IClassFixture<Llama2cReader>
{
    internal static (int Code, string Output) Run(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_c_forward_over_the_exported_file_gives_our_logits_and_text(bool tied)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(InteropFixture.RunCConfig(tied));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var bin = Path.Combine(dir, "model.bin");
            ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Llama2c, bin, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            var swap = TokenIdSwap.ForRunC(tokenizer)!;
            Assert.Equal(1, swap.A);
            Assert.Equal(tokenizer.EndOfTextId, swap.B);

            long[] ids = [tokenizer.EndOfTextId, .. tokenizer.Encode("Tom saw a ball.").Select(i => (long)i), 1];
            Assert.InRange(ids.Length, 8, 16); // within the context of 16
            var (code, output) = Run(reader.Executable, [bin, Path.Combine(dir, "tokenizer.bin"), .. ids.Select(i => swap.Map((int)i).ToString(CultureInfo.InvariantCulture))]);
            Assert.True(code == 0, output[Math.Max(0, output.Length - 300)..]);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(ids.Length + 1, lines.Length);

            var ours = InteropFixture.Logits(model, ids).squeeze(0); // (T, V)
            var permutation = torch.tensor(Enumerable.Range(0, 300).Select(j => (long)swap.Map(j)).ToArray());
            var expected = ours.index_select(1, permutation); // column j of the C output is our id Map(j)
            var theirs = torch.tensor(lines[..^1].SelectMany(l => l.Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture))).ToArray(), [ids.Length, 300]);
            double diff = (theirs - expected).abs().max().item<float>();
            Assert.True(diff <= 1e-5, $"the C forward's logits differ from ours by {diff}");

            // run.c prints a token's bytes as they are: the ids' bytes are our tokenizer's text.
            Assert.StartsWith("bytes ", lines[^1]);
            Assert.Equal(Convert.ToHexStringLower(tokenizer.DecodeBytes(ids.Select(i => (int)i).ToArray())), lines[^1]["bytes ".Length..]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_header_and_tokenizer_bin_say_what_run_c_needs()
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(InteropFixture.RunCConfig(tied: false));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var bin = Path.Combine(dir, "model.bin");
            ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Llama2c, bin, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            var header = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(bin).AsSpan(0, 28)).ToArray();
            Assert.Equal([16, 40, 2, 4, 2, -300, 16], header); // negative vocab: the classifier is not shared
            long floats = 300L * 16 * 2 + 2 * (16 * 2 + 16 * 16 * 2 + 8 * 16 * 2 + 40 * 16 * 3) + 16 + 2 * 16 * 2;
            Assert.Equal(28 + floats * 4, new FileInfo(bin).Length);
            // The rotary tables: cos and sin of pos·10000^(-2i/head_size).
            var data = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(bin).AsSpan(28)).ToArray();
            int real = data.Length - 300 * 16 - 2 * (16 * 2); // the tables (seq_len × head_size/2 each), then the classifier
            Assert.Equal((float)Math.Cos(5 * Math.Pow(10000, -2.0 / 4)), data[real + 5 * 2 + 1], 6);
            Assert.Equal((float)Math.Sin(3 * 1.0), data[real + 16 * 2 + 3 * 2], 6);

            var vocab = File.ReadAllBytes(Path.Combine(dir, "tokenizer.bin"));
            int max = BinaryPrimitives.ReadInt32LittleEndian(vocab);
            int offset = 4;
            var entries = new List<(float Score, byte[] Bytes)>();
            for (int id = 0; id < 300; id++)
            {
                float score = BinaryPrimitives.ReadSingleLittleEndian(vocab.AsSpan(offset));
                int length = BinaryPrimitives.ReadInt32LittleEndian(vocab.AsSpan(offset + 4));
                entries.Add((score, vocab.AsSpan(offset + 8, length).ToArray()));
                offset += 8 + length;
            }
            Assert.Equal(vocab.Length, offset);
            Assert.Equal(entries.Max(e => e.Bytes.Length), max);
            Assert.Equal("<|endoftext|>"u8.ToArray(), entries[1].Bytes);
            Assert.Equal(new byte[] { 1 }, entries[tokenizer.EndOfTextId].Bytes);
            Assert.Equal(" "u8.ToArray(), entries[32].Bytes);
            // Merged tokens: earlier merges score higher, so run.c applies them first.
            var merges = tokenizer.Merges;
            Assert.True(entries[merges[0].Result].Score > entries[merges[^1].Result].Score);
            Assert.Equal(tokenizer.TokenBytes(merges[3].Result).ToArray(), entries[merges[3].Result].Bytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Export_import_and_export_again_is_bit_identical()
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        using var model = InteropFixture.Model(InteropFixture.RunCConfig(tied: false));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var first = Path.Combine(dir, "a", "model.bin");
            ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Llama2c, first, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            using var imported = TrainedModel.Load(first, "cpu");
            Assert.Equal("llama2.c version 0", imported.ImportedFormat);
            Assert.Equal(model.Config, imported.Model.Config);
            // The imported model is ours with ids 1 and end-of-text exchanged, and so is its tokenizer.
            var swap = TokenIdSwap.ForRunC(tokenizer)!;
            Assert.Equal(1, Assert.IsType<LlmTrainer.Tokenization.ByteLevelBpeTokenizer>(imported.Tokenizer).EndOfTextId);
            Assert.Equal(swap.Apply(tokenizer).Hash, imported.Tokenizer.Hash);
            var expected = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Key is "model.embed_tokens.weight" or "lm_head.weight" ? swap.Rows(kv.Value) : kv.Value);
            HfExportTests.AssertSameWeights(expected, imported.Model.state_dict());
            long[] ids = [5, 17, 42, 9];
            var a = InteropFixture.Logits(model, ids).index_select(2, torch.tensor(Enumerable.Range(0, 300).Select(j => (long)swap.Map(j)).ToArray()));
            var b = InteropFixture.Logits(imported.Model, ids.Select(i => (long)swap.Map((int)i)).ToArray());
            // The same sums (BLAS may order a permuted matrix's rows' work differently: the last bits may move).
            Assert.True((a - b).abs().max().item<float>() <= 1e-6);

            var second = Path.Combine(dir, "b", "model.bin");
            var again = new ExportSource(imported.Model.Config, imported.Model.state_dict(), imported.Tokenizer, "again");
            ModelExport.Export(again, ExportFormat.Llama2c, second, WeightDtype.F32, HfExport.DefaultMaxShardBytes);
            Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "a", "tokenizer.bin")), File.ReadAllBytes(Path.Combine(dir, "b", "tokenizer.bin")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A version 1 or 2 file as llama2.c's export.py lays it out, written here from the format description.</summary>
    private static void WriteVersioned(string path, Llama model, int version, int groupSize)
    {
        var c = model.Config;
        var w = model.state_dict();
        using var stream = File.Create(path);
        var header = new byte[256];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Llama2cModelFile.Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), version);
        int[] fields = [c.DModel, c.FfnHidden, c.NLayer, c.NHead, c.NKvHead, c.VocabSize, c.BlockSize];
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8 + 4 * i), fields[i]);
        header[36] = (byte)(c.TieEmbeddings ? 1 : 0);
        if (version == 2) BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(37), groupSize);
        stream.Write(header);
        void Floats(Tensor t) => stream.Write(t.contiguous().ToBytes());
        IEnumerable<Tensor> Layers(string suffix, int? heads = null) => Enumerable.Range(0, c.NLayer)
            .Select(i => w[$"model.layers.{i}.{suffix}"]).Select(t => heads is { } h ? RotaryLayout.ToInterleaved(t, h) : t);
        foreach (var t in Layers("input_layernorm.weight").Concat(Layers("post_attention_layernorm.weight")).Append(w["model.norm.weight"]))
            Floats(t);
        var matrices = new[] { w["model.embed_tokens.weight"] }
            .Concat(Layers("self_attn.q_proj.weight", c.NHead)).Concat(Layers("self_attn.k_proj.weight", c.NKvHead))
            .Concat(Layers("self_attn.v_proj.weight")).Concat(Layers("self_attn.o_proj.weight"))
            .Concat(Layers("mlp.gate_proj.weight")).Concat(Layers("mlp.down_proj.weight")).Concat(Layers("mlp.up_proj.weight"))
            .Concat(c.TieEmbeddings ? [] : [w["lm_head.weight"]]);
        foreach (var m in matrices)
        {
            if (version == 1)
            {
                Floats(m);
                continue;
            }
            // Q8_0: per group of groupSize values, int8 = round(v / scale) with scale = max|v| / 127.
            var groups = m.reshape(-1, groupSize);
            var scale = groups.abs().amax(1) / 127.0;
            var q = (groups / scale.unsqueeze(1)).round().to(ScalarType.Int8);
            stream.Write(q.ToBytes());
            Floats(scale);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Versioned_files_of_llama2c_export_py_import(int version)
    {
        using var scope = torch.NewDisposeScope();
        using var model = InteropFixture.Model(InteropFixture.RunCConfig(tied: version == 2));
        var dir = InteropFixture.TempDirectory();
        try
        {
            var bin = Path.Combine(dir, "model.bin");
            WriteVersioned(bin, model, version, groupSize: 16);
            InteropFixture.Tokenizer().Save(Path.Combine(dir, "tokenizer.json"));
            using var imported = TrainedModel.Load(bin, "cpu");
            Assert.Equal($"llama2.c version {version}", imported.ImportedFormat);
            Assert.Equal(model.Config, imported.Model.Config);
            if (version == 1)
            {
                HfExportTests.AssertSameWeights(model.state_dict(), imported.Model.state_dict());
                return;
            }
            // Q8_0 loses at most half a step of each group's scale, and the norms are exact.
            foreach (var (name, t) in model.state_dict())
            {
                var back = imported.Model.state_dict()[name];
                double err = (back - t).abs().max().item<float>();
                Assert.True(t.dim() == 1 ? err == 0 : err <= t.abs().max().item<float>() / 127 / 2 + 1e-6, $"{name}: {err}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void What_run_c_cannot_compute_is_refused_with_the_reason()
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = InteropFixture.Tokenizer();
        var dir = InteropFixture.TempDirectory();
        try
        {
            var bin = Path.Combine(dir, "model.bin");
            LlmTrainerException Refused(LlamaConfig config, WeightDtype dtype = WeightDtype.F32)
            {
                using var model = InteropFixture.Model(config);
                return Assert.Throws<LlmTrainerException>(() =>
                    ModelExport.Export(InteropFixture.Source(model, tokenizer), ExportFormat.Llama2c, bin, dtype, HfExport.DefaultMaxShardBytes));
            }
            Assert.Contains("mixture of experts", Refused(InteropFixture.MoeConfig).Message);
            Assert.Contains("rope_theta 500", Refused(InteropFixture.HfConfig with { NormEps = 1e-5 }).Message);
            Assert.Contains("norm_eps 1E-06", Refused(InteropFixture.HfConfig).Message);
            Assert.Contains("float32", Refused(InteropFixture.RunCConfig(false), WeightDtype.F16).Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));

            File.WriteAllBytes(bin, new byte[100]);
            var e = Assert.Throws<LlmTrainerException>(() => TrainedModel.Locate(bin));
            Assert.Contains("model.bin", e.Message);
            Assert.Contains("not a llama2.c model", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
