namespace LlmTrainer.Torch;

/// <summary>An error raised inside libtorch; the message is libtorch's own (without its C++ backtrace).</summary>
public class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}

/// <summary>libtorch could not allocate memory (host or device).</summary>
public sealed class TorchOutOfMemoryException : TorchException
{
    public TorchOutOfMemoryException(string message) : base(message) { }
}
