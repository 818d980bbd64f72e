namespace LlmTrainer.Torch;

/// <summary>
/// A number passed to an op by value. Integral and floating scalars stay distinct, so that
/// <c>intTensor + 2</c> stays integral exactly as in PyTorch.
/// </summary>
public readonly struct Scalar
{
    public readonly double Float;
    public readonly long Int;
    public readonly bool IsIntegral;

    private Scalar(double f, long i, bool isIntegral)
    {
        Float = f;
        Int = i;
        IsIntegral = isIntegral;
    }

    public static implicit operator Scalar(double v) => new(v, 0, false);
    public static implicit operator Scalar(float v) => new(v, 0, false);
    public static implicit operator Scalar(long v) => new(v, v, true);
    public static implicit operator Scalar(int v) => new(v, v, true);
    public static implicit operator Scalar(bool v) => new(v ? 1 : 0, v ? 1 : 0, true);

    public override string ToString() => IsIntegral ? Int.ToString() : Float.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
