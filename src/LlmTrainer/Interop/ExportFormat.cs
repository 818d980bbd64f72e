namespace LlmTrainer.Interop;

/// <summary>The formats <see cref="ModelExport"/> writes.</summary>
public enum ExportFormat
{
    /// <summary>A Hugging Face model directory: config.json, safetensors, tokenizer files.</summary>
    Hf,

    /// <summary>llama2.c's legacy (version 0) model .bin, with a run.c tokenizer.bin beside it.</summary>
    Llama2c,

    /// <summary>A GGUF v3 file for llama.cpp, tokenizer embedded.</summary>
    Gguf,
}

public static class ExportFormats
{
    public static ExportFormat Parse(string text) => text.ToLowerInvariant() switch
    {
        "hf" or "huggingface" => ExportFormat.Hf,
        "llama2c" or "llama2.c" => ExportFormat.Llama2c,
        "gguf" => ExportFormat.Gguf,
        _ => throw new LlmTrainerException($"--format '{text}' is not a known export format; use hf, llama2c or gguf."),
    };
}
