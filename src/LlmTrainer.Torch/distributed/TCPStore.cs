using static LlmTrainer.Torch.Native.NativeMethods;

namespace LlmTrainer.Torch;

public static partial class torch
{
    public static partial class distributed
    {
        /// <summary>
        /// A key-value store over TCP for rendezvous (c10d's TCPStore): one process hosts it (<c>is_master</c>), every
        /// process connects to it. Reads wait for a key up to the timeout.
        /// </summary>
        public sealed class TCPStore : IDisposable
        {
            private IntPtr handle;

            public TCPStore(string host, int port, bool is_master, TimeSpan timeout)
            {
                Check(llm_store_open(host, port, is_master ? 1 : 0, (long)timeout.TotalMilliseconds, out handle));
                Host = host;
                Port = port;
            }

            public string Host { get; }

            public int Port { get; }

            internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(TCPStore));

            public unsafe void set(string key, ReadOnlySpan<byte> value)
            {
                fixed (byte* p = value) Check(llm_store_set(Handle, key, p, value.Length));
            }

            /// <summary>The key's value, waiting for the key up to the store's timeout.</summary>
            public unsafe byte[] get(string key)
            {
                var buffer = new byte[256];
                while (true)
                {
                    int length;
                    fixed (byte* p = buffer) Check(llm_store_get(Handle, key, p, buffer.Length, out length));
                    if (length <= buffer.Length) return buffer[..length];
                    buffer = new byte[length];
                }
            }

            public bool check(string key)
            {
                Check(llm_store_check(Handle, key, out var exists));
                return exists != 0;
            }

            /// <summary>Adds to a counter (created at 0) and returns its new value.</summary>
            public long add(string key, long delta)
            {
                Check(llm_store_add(Handle, key, delta, out var value));
                return value;
            }

            public void Dispose()
            {
                var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
                if (h != IntPtr.Zero) llm_store_free(h);
            }
        }
    }
}
