using System.Reflection;
using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>
/// Finds libllmtorch: $LLMTRAIN_NATIVE (a file), next to the application, or in the repository's
/// artifacts/native (for builds run from the source tree).
/// </summary>
internal static class NativeLibraryResolver
{
    public const string FileName = "libllmtorch.so";

    public static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Lib) return IntPtr.Zero;
        var tried = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            if (File.Exists(candidate))
            {
                OpenMpEnvironment.Apply();
                return NativeLibrary.Load(candidate);
            }
        }
        throw new DllNotFoundException(
            $"{FileName} (the llmtrain native shim over libtorch) was not found. Looked in: {string.Join(", ", tried)}. " +
            "Build it with scripts/setup.sh, or point LLMTRAIN_NATIVE at the file.");
    }

    private static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("LLMTRAIN_NATIVE");
        if (!string.IsNullOrEmpty(env)) yield return Path.GetFullPath(env);
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var inRepo = Path.Combine(dir.FullName, "artifacts", "native", FileName);
            if (File.Exists(inRepo)) { yield return inRepo; yield break; }
        }
    }
}
