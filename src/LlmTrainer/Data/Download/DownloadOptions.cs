namespace LlmTrainer.Data;

/// <param name="ConnectTimeout">How long to wait for a connection: short, so that an offline machine fails in seconds.</param>
/// <param name="StallTimeout">Longest wait for the next bytes of a response before the attempt counts as failed.</param>
/// <param name="MaxAttempts">Attempts per file; each one after the first resumes where the last stopped.</param>
/// <param name="RetryDelay">Pause before resuming an interrupted transfer.</param>
/// <param name="BearerToken">Sent as <c>Authorization: Bearer</c> (a Hugging Face token for gated datasets), or null.</param>
public sealed record DownloadOptions(TimeSpan ConnectTimeout, TimeSpan StallTimeout, int MaxAttempts, TimeSpan RetryDelay, string? BearerToken = null)
{
    public static readonly DownloadOptions Default = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), 5, TimeSpan.FromSeconds(2));
}
