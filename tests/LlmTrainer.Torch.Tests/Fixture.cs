using System.Text.Json;
using LlmTrainer.Torch;

namespace LlmTrainer.Torch.Tests;

/// <summary>Reads the PyTorch reference values made by Fixtures/make_fixtures.py.</summary>
internal static class Fixture
{
    public static JsonElement Load(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", file))).RootElement;

    public static Tensor Float(JsonElement e, Device device)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
        return torch.tensor(data, shape, device);
    }

    public static Tensor Long(JsonElement e, Device device)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        return torch.tensor(data, shape, device);
    }

    /// <summary>Largest absolute difference, after checking that the shapes agree.</summary>
    public static double MaxDiff(Tensor actual, JsonElement expected)
    {
        var shape = expected.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal(shape, actual.shape);
        var want = expected.GetProperty("data").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        using var f = actual.to(ScalarType.Float32);
        var got = f.ToArray<float>();
        double max = 0;
        for (int i = 0; i < got.Length; i++) max = Math.Max(max, Math.Abs(got[i] - want[i]));
        return max;
    }
}

/// <summary>
/// Every device the tests can run on here: the CPU, and CUDA when present — or the CUDA device that
/// $LLMTRAIN_TEST_DEVICE names (<see cref="TestDevice"/>), which must then be there.
/// </summary>
public static class Devices
{
    public static IEnumerable<object[]> All()
    {
        yield return ["cpu"];
        if (TestDevice.IsCuda) yield return [TestDevice.Name];
        else if (torch.cuda.is_available()) yield return ["cuda"];
    }
}
