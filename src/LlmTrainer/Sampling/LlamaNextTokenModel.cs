using LlmTrainer.Model;
using LlmTrainer.Torch;

namespace LlmTrainer.Sampling;

/// <summary>
/// A <see cref="Llama"/> as an <see cref="INextTokenModel"/>. With the KV cache (the default) the prompt is prefilled once
/// and every later token costs one position's forward pass. When the cache is full (block_size tokens), each row keeps
/// its last <see cref="WindowKeep"/> tokens, the cache is cleared and re-prefilled with them at positions 0.. (as the
/// model saw windows in training), and generation goes on. Without the cache every step recomputes the forward pass
/// over the last block_size tokens (nanoGPT's loop; for benchmarks). Runs under inference mode, and under autocast when
/// <c>autocastDtype</c> is given. Does not own the model.
/// </summary>
public sealed class LlamaNextTokenModel : INextTokenModel
{
    private readonly Llama model;
    private readonly ScalarType? autocast;
    private readonly Device device;
    private List<int>[] windows = [];
    private int cached;

    public LlamaNextTokenModel(Llama model, ScalarType? autocastDtype = null, bool useKvCache = true)
    {
        this.model = model;
        autocast = autocastDtype;
        UseKvCache = useKvCache;
        device = model.parameters().First().device;
    }

    public bool UseKvCache { get; }

    public int VocabSize => model.Config.VocabSize;

    public int ContextLength => model.Config.BlockSize;

    public int WindowSlides { get; private set; }

    /// <summary>Tokens a row keeps when the context is full: about three quarters of it.</summary>
    public static int WindowKeep(int contextLength) => Math.Max(1, contextLength * 3 / 4);

    /// <summary>The tokens row <paramref name="row"/> currently conditions on (its window).</summary>
    public IReadOnlyList<int> Window(int row) => windows[row];

    public Tensor Start(IReadOnlyList<int> prompt, int rows)
    {
        if (prompt.Count == 0 || prompt.Count > ContextLength)
            throw new ArgumentException($"a prompt needs 1..{ContextLength} tokens (block_size); got {prompt.Count}", nameof(prompt));
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "need at least one row");
        windows = Enumerable.Range(0, rows).Select(_ => new List<int>(prompt)).ToArray();
        WindowSlides = 0;
        if (!UseKvCache) return Recompute();
        using (torch.inference_mode())
            model.setup_cache(rows, autocast);
        return Prefill();
    }

    public Tensor Append(IReadOnlyList<int> tokens, IReadOnlyList<int>? parents = null)
    {
        if (tokens.Count != windows.Length)
            throw new ArgumentException($"{tokens.Count} tokens for {windows.Length} rows", nameof(tokens));
        if (parents is not null)
        {
            if (parents.Count != windows.Length) throw new ArgumentException($"{parents.Count} parents for {windows.Length} rows", nameof(parents));
            windows = parents.Select(p => new List<int>(windows[p])).ToArray();
            if (UseKvCache)
            {
                using var scope = torch.NewDisposeScope();
                using var _ = torch.inference_mode();
                model.reorder_cache(torch.tensor(parents.Select(p => (long)p).ToArray()));
            }
        }
        for (int i = 0; i < windows.Length; i++) windows[i].Add(tokens[i]);

        if (!UseKvCache)
        {
            foreach (var w in windows)
                if (w.Count > ContextLength) w.RemoveRange(0, w.Count - ContextLength);
            return Recompute();
        }
        if (cached == ContextLength)
        {
            int keep = WindowKeep(ContextLength);
            foreach (var w in windows) w.RemoveRange(0, w.Count - keep);
            WindowSlides++;
            return Prefill();
        }
        var logits = Forward(tokens.Select(t => (long)t).ToArray(), tokens.Count, cached);
        cached++;
        return logits;
    }

    public void Reset()
    {
        model.clear_cache();
        windows = [];
        cached = 0;
    }

    /// <summary>Runs every row's window through the model from position 0, filling the cache.</summary>
    private Tensor Prefill()
    {
        var logits = Forward(WindowIds(), windows.Length, 0);
        cached = windows[0].Count;
        return logits;
    }

    private Tensor Recompute() => Forward(WindowIds(), windows.Length, null);

    /// <summary>The windows row after row (they all have the same length).</summary>
    private long[] WindowIds()
    {
        int n = windows[0].Count;
        var ids = new long[windows.Length * n];
        for (int r = 0; r < windows.Length; r++)
            for (int i = 0; i < n; i++) ids[r * n + i] = windows[r][i];
        return ids;
    }

    /// <summary>Last-position logits, float32 (rows, vocab), for ids (rows × n) at positions startPos.. (null: no cache).</summary>
    private Tensor Forward(long[] ids, int rows, int? startPos)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.inference_mode();
        using var cast = autocast is { } dt ? torch.autocast(device.Type, dt) : null;
        var idx = torch.tensor(ids, [rows, ids.Length / rows], device == Device.CPU ? null : device);
        var logits = model.forward(idx, startPos, lastOnly: true);
        return logits.select(1, 0).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
