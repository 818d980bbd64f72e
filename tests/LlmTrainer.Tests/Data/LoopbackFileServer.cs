using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmTrainer.Tests.Data;

/// <summary>
/// A minimal HTTP/1.1 file server on 127.0.0.1 (an ephemeral port) for download tests: honours Range requests,
/// and can cut a response short after some bytes, or ignore Range, to exercise resuming.
/// </summary>
public sealed class LoopbackFileServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IReadOnlyDictionary<string, byte[]> _files;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _cutsLeft;

    public LoopbackFileServer(IReadOnlyDictionary<string, byte[]> files)
    {
        _files = files;
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/data/");

    /// <summary>Every request: the path and the first byte asked for (null without a Range header).</summary>
    public ConcurrentQueue<(string Path, long? RangeStart)> Requests { get; } = new();

    /// <summary>Bytes of body sent before a cut response is closed.</summary>
    public int CutAfterBytes { get; set; } = 100_000;

    /// <summary>How many of the next responses are cut short (int.MaxValue: all of them).</summary>
    public int CutResponses
    {
        get => Volatile.Read(ref _cutsLeft);
        set => Volatile.Write(ref _cutsLeft, value);
    }

    public bool IgnoreRange { get; set; }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                string head = await ReadHead(stream);
                var lines = head.Split("\r\n");
                string path = lines[0].Split(' ')[1];
                long? rangeStart = null;
                foreach (string line in lines.Skip(1))
                {
                    if (line.StartsWith("Range: bytes=", StringComparison.OrdinalIgnoreCase))
                        rangeStart = long.Parse(line["Range: bytes=".Length..].TrimEnd('-'));
                }
                Requests.Enqueue((path, rangeStart));
                string name = path.StartsWith("/data/", StringComparison.Ordinal) ? path["/data/".Length..] : "";
                if (!_files.TryGetValue(name, out byte[]? content))
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                    return;
                }
                long start = IgnoreRange ? 0 : rangeStart ?? 0;
                string status = start > 0 ? "206 Partial Content" : "200 OK";
                string extra = start > 0 ? $"Content-Range: bytes {start}-{content.Length - 1}/{content.Length}\r\n" : "";
                long length = content.Length - start;
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Length: {length}\r\n{extra}Content-Type: text/plain\r\nConnection: close\r\n\r\n"));
                bool cut = Interlocked.Decrement(ref _cutsLeft) >= 0;
                int send = cut ? (int)Math.Min(CutAfterBytes, length) : (int)length;
                await stream.WriteAsync(content.AsMemory((int)start, send));
                await stream.FlushAsync();
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<string> ReadHead(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
                break;
            bytes.Add(one[0]);
        }
        return Encoding.ASCII.GetString(bytes.ToArray());
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
