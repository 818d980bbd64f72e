using LlmTrainer.Torch;

namespace LlmTrainer.Testing;

/// <summary>
/// The device that the device-parameterised tests run on: <c>$LLMTRAIN_TEST_DEVICE</c> (<c>cpu</c>, <c>cuda</c> or
/// <c>cuda:N</c>), the CPU when it is unset. Those tests carry <c>[Trait("device", "any")]</c>, so that a runner can pick
/// them out (benchmarks/gpu_acceptance.sh runs them on a GPU). Asking for CUDA where libtorch sees none fails the
/// test rather than skipping it: an acceptance run must not pass by testing the CPU instead.
/// </summary>
internal static class TestDevice
{
    public const string Variable = "LLMTRAIN_TEST_DEVICE";

    /// <summary>The trait name and value of the device-parameterised tests.</summary>
    public const string Trait = "device", Any = "any";

    private static readonly Lazy<Device> Resolved = new(Resolve);

    /// <summary>The device's name as given (<c>cpu</c> when unset), for configs and command lines.</summary>
    public static string Name
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            return string.IsNullOrWhiteSpace(value) ? "cpu" : value.Trim().ToLowerInvariant();
        }
    }

    /// <summary>
    /// The device; throws when it is CUDA and libtorch has no CUDA device. On a GPU, reading it also switches TF32
    /// matmuls off, so that the tests compare full float32 results (a training run earlier in the same process may
    /// have switched them on).
    /// </summary>
    public static Device Current
    {
        get
        {
            var device = Resolved.Value;
            if (device.IsCuda) torch.backends.set_allow_tf32(false);
            return device;
        }
    }

    public static bool IsCuda => Resolved.Value.IsCuda;

    /// <summary>A tolerance: <paramref name="cpu"/> on the CPU (the tests' historical value), <paramref name="cuda"/> on a GPU.</summary>
    public static double Tolerance(double cpu, double cuda) => IsCuda ? cuda : cpu;

    private static Device Resolve()
    {
        Device device;
        try
        {
            device = Device.Parse(Name);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{Variable}={Name}: {e.Message}", e);
        }
        if (device.IsCuda && !torch.cuda.is_available())
            throw new InvalidOperationException(
                $"{Variable}={Name} but libtorch sees no CUDA device (a CPU-only libtorch, or no driver); the device tests cannot run there.");
        if (device.IsCuda && device.Index >= torch.cuda.device_count())
            throw new InvalidOperationException($"{Variable}={Name} but libtorch sees {torch.cuda.device_count()} CUDA device(s), numbered from 0.");
        return device;
    }
}
