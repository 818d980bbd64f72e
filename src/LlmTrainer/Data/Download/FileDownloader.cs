using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using LlmTrainer.Progress;

namespace LlmTrainer.Data;

/// <summary>
/// Downloads one file over HTTP into <c>NAME.part</c>, resuming with a Range request after an interruption
/// (within a run, and across runs since the .part file stays), checks the size against the server's, and renames
/// the file into place only when complete.
/// </summary>
public sealed class FileDownloader : IDisposable
{
    private const int ChunkBytes = 1 << 16;
    private readonly HttpClient _client;
    private readonly DownloadOptions _options;

    public FileDownloader(DownloadOptions? options = null)
    {
        _options = options ?? DownloadOptions.Default;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("llmtrain", typeof(FileDownloader).Assembly.GetName().Version?.ToString(3)));
        if (_options.BearerToken is { Length: > 0 } token)
            _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>A small text resource (a file listing), with the same error handling as a download.</summary>
    public async Task<string> GetTextAsync(Uri url, CancellationToken cancellationToken = default)
    {
        HttpResponseMessage response;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.StallTimeout);
            response = await _client.GetAsync(url, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new UnreachableException(e.Message, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UnreachableException("connection timed out", e);
        }
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new LlmTrainerException($"{url} answered HTTP {(int)response.StatusCode}: the dataset is gated; accept its terms on its page and set HF_TOKEN to an access token.");
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw new LlmTrainerException($"{url} was not found (HTTP 404): check the dataset name and subset.");
            if (!response.IsSuccessStatusCode)
                throw new LlmTrainerException($"{url} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}. Try again later.");
            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Unreachable servers (no network, refused connection, DNS failure) surface as this, so callers can explain what to do offline.</summary>
    internal sealed class UnreachableException(string message, Exception inner) : Exception(message, inner);

    /// <returns>The size of the downloaded file.</returns>
    public async Task<long> DownloadAsync(Uri url, string destination, IProgressReporter? progress = null, CancellationToken cancellationToken = default)
    {
        progress ??= NullProgress.Instance;
        string part = destination + ".part";
        string name = Path.GetFileName(destination);
        int attempt = 0;
        while (true)
        {
            attempt++;
            long have = File.Exists(part) ? new FileInfo(part).Length : 0;
            long before = have;
            try
            {
                long? total = await TransferAsync(url, part, have, name, progress, cancellationToken).ConfigureAwait(false);
                long size = new FileInfo(part).Length;
                if (total is long expected && size != expected)
                    throw new IOException($"received {size} of {expected} bytes");
                File.Move(part, destination, overwrite: true);
                return size;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException or UnreachableException
                && !cancellationToken.IsCancellationRequested)
            {
                // Not reaching the server at all is reported at once; a transfer cut short is resumed.
                if (e is UnreachableException && attempt == 1)
                    throw;
                long now = File.Exists(part) ? new FileInfo(part).Length : 0;
                if (attempt >= _options.MaxAttempts)
                    throw new LlmTrainerException(
                        $"Downloading {url} failed after {attempt} attempts ({Innermost(e)}). {now} bytes are kept in {part}; run the command again to resume.", e);
                progress.Warn($"{name}: transfer interrupted after {now - before} bytes ({Innermost(e)}); resuming…");
                await Task.Delay(_options.RetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One request: appends to the .part file; returns the full size the server announced, if any.</summary>
    private async Task<long?> TransferAsync(Uri url, string part, long have, string name, IProgressReporter progress, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
            request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.ProxyTunnelError)
        {
            throw new UnreachableException(e.Message, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UnreachableException("connection timed out", e);
        }
        using (response)
        {
            long? total;
            bool append;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent:
                    var range = response.Content.Headers.ContentRange;
                    if (range?.From != have)
                        throw new IOException($"server resumed at byte {range?.From} instead of {have}");
                    total = range.Length;
                    append = true;
                    break;
                case HttpStatusCode.OK:
                    // A server that ignores Range sends the whole file: start over.
                    total = response.Content.Headers.ContentLength;
                    append = false;
                    have = 0;
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable:
                    long? size = response.Content.Headers.ContentRange?.Length;
                    if (size == have)
                        return size;
                    File.Delete(part);
                    throw new IOException($"the partial file ({have} bytes) does not match the server's file ({size?.ToString() ?? "unknown"} bytes); starting over");
                case HttpStatusCode.NotFound:
                    throw new LlmTrainerException($"{url} was not found (HTTP 404). Check the address (--base-url) or download the file by hand.");
                default:
                    throw new LlmTrainerException($"{url} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}. Try again later or download the file by hand.");
            }

            await using var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using var file = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, ChunkBytes);
            var buffer = new byte[ChunkBytes];
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            long received = 0;
            while (true)
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                stall.CancelAfter(_options.StallTimeout);
                int n;
                try
                {
                    n = await source.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"no data for {_options.StallTimeout.TotalSeconds:F0} s");
                }
                if (n == 0)
                    break;
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                received += n;
                if (clock.Elapsed - lastReport >= TimeSpan.FromMilliseconds(500))
                {
                    lastReport = clock.Elapsed;
                    Report(progress, name, have + received, total, received / Math.Max(clock.Elapsed.TotalSeconds, 1e-3));
                }
            }
            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            Report(progress, name, have + received, total, received / Math.Max(clock.Elapsed.TotalSeconds, 1e-3));
            return total;
        }
    }

    private static void Report(IProgressReporter progress, string name, long bytes, long? total, double bytesPerSecond)
    {
        string eta = total is long t && bytesPerSecond > 0 ? $", ETA {TimeSpan.FromSeconds(Math.Round((t - bytes) / bytesPerSecond)):g}" : "";
        progress.Report(new ProgressUpdate($"download {name}", bytes / 1e6, total / 1e6, "MB", $"{bytesPerSecond / 1e6:F1} MB/s{eta}"));
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e.Message;
    }

    public void Dispose() => _client.Dispose();
}
