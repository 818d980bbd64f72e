namespace LlmTrainer.Evaluation;

/// <summary>How small one compressor makes the evaluated text.</summary>
/// <param name="Name">"llmtrain model", "gzip -9" or "brotli q11".</param>
/// <param name="CompressedBytes">
/// The compressed size. For the model it is the size an ideal entropy coder driven by the model's predictions would
/// reach, loss·tokens / ln 2 / 8, so it is not a whole number.
/// </param>
/// <param name="OriginalBytes">The size of the text compressed (UTF-8 bytes).</param>
public sealed record CompressorResult(string Name, double CompressedBytes, long OriginalBytes)
{
    public double BitsPerByte => 8 * CompressedBytes / OriginalBytes;

    /// <summary>Compressed size as a share of the original.</summary>
    public double Ratio => CompressedBytes / OriginalBytes;
}
