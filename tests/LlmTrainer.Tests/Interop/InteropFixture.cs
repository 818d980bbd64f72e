using LlmTrainer.Interop;
using LlmTrainer.Model;
using LlmTrainer.Tokenization;
using LlmTrainer.Torch;

namespace LlmTrainer.Tests.Interop;

/// <summary>
/// Small models with weights from an integer formula (the same bits on every machine and libtorch, so an export can be
/// compared with a committed one byte for byte) and the fixture tokenizer of 300 ids.
/// </summary>
internal static class InteropFixture
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Interop", "Fixtures");

    /// <summary>The committed Hugging Face export read by make_hf_fixture.py.</summary>
    public static string HfDirectory => Path.Combine(Directory, "hf");

    /// <summary>The source tree's fixture folder (to write fixtures anew with LLMTRAIN_WRITE_FIXTURES=1).</summary>
    public static string SourceDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LlmTrainer.sln")))
                    return Path.Combine(dir.FullName, "tests", "LlmTrainer.Tests", "Interop", "Fixtures");
            }
            throw new InvalidOperationException("LlmTrainer.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static bool WriteFixtures => Environment.GetEnvironmentVariable("LLMTRAIN_WRITE_FIXTURES") == "1";

    /// <summary>The Hugging Face fixture's shape: grouped-query attention, an untied head, an unusual rotary base and epsilon.</summary>
    public static readonly LlamaConfig HfConfig = new(300, 16, 2, 4, 2, 40, 16, NormEps: 1e-6, RopeTheta: 500, TieEmbeddings: false);

    /// <summary>A shape run.c can compute (its fixed epsilon and rotary base).</summary>
    public static LlamaConfig RunCConfig(bool tied) => new(300, 16, 2, 4, 2, 40, 16, NormEps: 1e-5, RopeTheta: 10000, TieEmbeddings: tied);

    public static readonly LlamaConfig MoeConfig = new(300, 16, 2, 4, 2, 24, 16, TieEmbeddings: false, NExperts: 3, ExpertsPerToken: 2);

    public static ByteLevelBpeTokenizer Tokenizer() => Assert.IsType<ByteLevelBpeTokenizer>(LlmTrainer.Tokenization.Tokenizer.Load(Path.Combine(HfDirectory, "tokenizer.json")));

    /// <summary>A model whose every weight comes from <see cref="Value"/>: norms near 1, matrices of a few tenths.</summary>
    public static Llama Model(LlamaConfig config)
    {
        var model = new Llama(config);
        using var scope = torch.NewDisposeScope();
        var weights = new Dictionary<string, Tensor>();
        int k = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            k++;
            var values = new float[p.numel()];
            bool norm = p.dim() == 1;
            for (int i = 0; i < values.Length; i++)
                values[i] = norm ? 1 + 0.1f * Value(k, i) : (name.Contains("embed") ? 0.8f : 0.35f) * Value(k, i);
            weights[name] = torch.tensor(values, p.shape);
        }
        model.load_state_dict(weights);
        model.eval();
        return model;
    }

    /// <summary>A value in [-1, 1] from integer hashing alone.</summary>
    public static float Value(int k, int i)
    {
        uint h = (uint)(k * 0x9E3779B1) ^ (uint)(i * 0x85EBCA77);
        h ^= h >> 15;
        h *= 0x2C1B3C6D;
        h ^= h >> 12;
        return ((int)(h % 2001) - 1000) / 1000f;
    }

    public static ExportSource Source(Llama model, Tokenizer tokenizer) => new(model.Config, model.state_dict(), tokenizer, "fixture");

    /// <summary>Fixed token ids for the logits comparisons (the same as make_hf_fixture.py's).</summary>
    public static readonly long[] Ids = [5, 299, 17, 42, 42, 7, 256, 100, 3, 1, 250, 64];

    public static Tensor Logits(Llama model, long[] ids)
    {
        using var _ = torch.no_grad();
        return model.forward(torch.tensor(ids, [1, ids.Length]));
    }

    public static string TempDirectory() => System.IO.Directory.CreateTempSubdirectory("llmtrain-interop-").FullName;
}
