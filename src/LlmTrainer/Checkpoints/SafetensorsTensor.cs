namespace LlmTrainer.Checkpoints;

/// <summary>A tensor as the header of a safetensors file describes it; offsets count from the start of the data section.</summary>
public sealed record SafetensorsTensor(string Name, SafetensorsDtype Dtype, IReadOnlyList<long> Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}
