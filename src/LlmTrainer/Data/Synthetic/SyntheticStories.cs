using System.Text;
using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// Built-in TinyStories-like stories: named characters, places, objects, feelings, dialogue, cause and effect and
/// an ending, from a dozen plots with varied phrasings and large slot lists, so a small model can learn the
/// language without memorising the corpus. Story i of seed s is always the same text (for a given
/// <see cref="GeneratorVersion"/>), and stories can be made in any order or in parallel.
/// </summary>
public sealed class SyntheticStories
{
    /// <summary>Bumped whenever the output changes, so caches of generated data know to regenerate.</summary>
    public const int GeneratorVersion = 1;

    private readonly ulong _seed;

    public SyntheticStories(ulong seed = 0) => _seed = seed;

    public string Story(long index)
    {
        ulong x = _seed ^ (0xD1B54A32D192ED03UL * (ulong)(index + 1));
        return new StoryComposer(new Xoshiro256(Xoshiro256.SplitMix64(ref x))).Compose();
    }

    public IEnumerable<string> Stories(int count)
    {
        for (int i = 0; i < count; i++)
            yield return Story(i);
    }

    /// <summary>
    /// Writes <paramref name="count"/> stories as TinyStories text (each story followed by an
    /// <c>&lt;|endoftext|&gt;</c> line), generating in parallel; returns the bytes written.
    /// </summary>
    public long WriteText(string path, int count, IProgressReporter? progress = null)
    {
        if (count < 1)
            throw new LlmTrainerException($"The number of stories must be at least 1 (got {count}).");
        progress ??= NullProgress.Instance;
        const int Chunk = 1024;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        long written = 0;
        for (int start = 0; start < count; start += Chunk)
        {
            int n = Math.Min(Chunk, count - start);
            var texts = new string[n];
            Parallel.For(0, n, i => texts[i] = Story(start + i));
            var sb = new StringBuilder();
            foreach (string t in texts)
                sb.Append(t).Append('\n').Append(DocumentFormats.TextSeparator).Append('\n');
            byte[] bytes = encoding.GetBytes(sb.ToString());
            file.Write(bytes);
            written += bytes.Length;
            progress.Report(new ProgressUpdate("synth", start + n, count, "stories"));
        }
        return written;
    }
}
