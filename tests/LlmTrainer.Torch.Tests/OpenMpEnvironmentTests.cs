using System.Runtime.InteropServices;
using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

public sealed partial class OpenMpEnvironmentTests
{
    [Fact]
    public void Idle_openmp_workers_sleep_unless_the_user_chose_otherwise()
    {
        _ = torch.get_num_threads(); // loads libllmtorch, and libtorch with it
        var native = Marshal.PtrToStringUTF8(getenv("OMP_WAIT_POLICY"));
        var chosen = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        Assert.Equal(chosen ?? "PASSIVE", native);
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getenv(string name);
}
