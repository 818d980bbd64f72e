namespace LlmTrainer.Checkpoints;

/// <summary>
/// One tensor to write: its name, type and shape, and a callback that writes exactly its bytes
/// (shape product × dtype size, little-endian) through <see cref="SafetensorsWriter.Write"/>,
/// in one call or in chunks — so data can stream from wherever it lives without an extra copy.
/// </summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, Action<SafetensorsWriter> WriteData)
{
    public static SafetensorsEntry FromBytes(string name, SafetensorsDtype dtype, IReadOnlyList<long> shape, ReadOnlyMemory<byte> bytes) =>
        new(name, dtype, shape, writer => writer.Write(bytes.Span));

    /// <summary>The byte count the shape and dtype call for; -1 when a dimension is negative or the size overflows.</summary>
    public long ExpectedByteLength
    {
        get
        {
            long elements = 1;
            foreach (var dim in Shape)
            {
                if (dim < 0)
                    return -1;
                try
                {
                    elements = checked(elements * dim);
                }
                catch (OverflowException)
                {
                    return -1;
                }
            }
            return elements > long.MaxValue / Dtype.Size() ? -1 : elements * Dtype.Size();
        }
    }
}
