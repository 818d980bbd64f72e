using System.Text.RegularExpressions;

namespace LlmTrainer.Torch.Tests;

/// <summary>
/// The shim's one convention, checked on its sources: every exported function either runs its body inside LLM_TRY
/// (a status code; no C++ exception crosses extern "C") or is declared noexcept (a query that cannot fail).
/// </summary>
public sealed partial class NativeContractTests
{
    [GeneratedRegex(@"LLM_API\s+[\w\s\*]+?\s+(llm_\w+)\s*\([^)]*\)\s*(noexcept\s*)?\{")]
    private static partial Regex Exported();

    private static string NativeSources()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var native = Path.Combine(dir.FullName, "src", "LlmTrainer.Native");
            if (Directory.Exists(native)) return native;
        }
        throw new DirectoryNotFoundException("src/LlmTrainer.Native not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_exported_function_is_guarded_or_noexcept()
    {
        var unguarded = new List<string>();
        int count = 0;
        foreach (var file in Directory.GetFiles(NativeSources(), "*.cpp"))
        {
            var text = File.ReadAllText(file);
            foreach (Match m in Exported().Matches(text))
            {
                count++;
                if (m.Groups[2].Success) continue;
                // The body, braces balanced.
                int depth = 1, i = m.Index + m.Length;
                while (depth > 0 && i < text.Length)
                {
                    if (text[i] == '{') depth++;
                    else if (text[i] == '}') depth--;
                    i++;
                }
                if (!text[(m.Index + m.Length)..i].Contains("LLM_TRY", StringComparison.Ordinal))
                    unguarded.Add($"{Path.GetFileName(file)}: {m.Groups[1].Value}");
            }
        }
        Assert.True(count > 100, $"found only {count} exported functions: the pattern no longer matches the sources");
        Assert.True(unguarded.Count == 0, "neither LLM_TRY nor noexcept: " + string.Join(", ", unguarded));
    }
}
