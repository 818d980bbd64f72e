using System.Runtime.InteropServices;

namespace LlmTrainer.Torch.Native;

/// <summary>
/// OpenMP settings that must be in the native environment before libtorch (and with it libgomp) loads.
/// Idle OpenMP workers spin by default; between libtorch's parallel regions they then take the cores from
/// OpenBLAS's own threads and the .NET runtime, which made CPU training steps about twice as slow on two
/// cores. OMP_WAIT_POLICY=PASSIVE lets them sleep. A value the user set is kept.
/// </summary>
internal static partial class OpenMpEnvironment
{
    public const string WaitPolicy = "OMP_WAIT_POLICY";

    public static void Apply()
    {
        // .NET keeps its own copy of the environment on Unix; libgomp reads the C library's.
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(WaitPolicy) is not null)
            return;
        _ = setenv(WaitPolicy, "PASSIVE", 0);
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
