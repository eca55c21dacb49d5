using System.IO.Compression;
using System.Security.Cryptography;
using ICSharpCode.SharpZipLib.BZip2;
using ZstdSharp;

namespace BackupBuild.Tasks.Restore;

/// <summary>
/// Opens the tar stream inside an archive file by its first bytes, not its name: gzip (one or many
/// members, as Collect writes them), bzip2 (one or many concatenated streams), zstd (one or many frames) or plain tar.
/// </summary>
internal static class ArchiveStreams
{
    public static bool IsArchiveName(string name) =>
        name.EndsWith(".tar", StringComparison.Ordinal) || name.EndsWith(".tar.gz", StringComparison.Ordinal) ||
        name.EndsWith(".tgz", StringComparison.Ordinal) || name.EndsWith(".tar.bz2", StringComparison.Ordinal) ||
        name.EndsWith(".tar.zst", StringComparison.Ordinal);

    /// <summary>The archive name without its extension: what names the same source across days.</summary>
    public static string Stem(string name)
    {
        foreach (var ext in new[] { ".tar.gz", ".tar.bz2", ".tar.zst", ".tgz", ".tar" })
            if (name.EndsWith(ext, StringComparison.Ordinal)) return name[..^ext.Length];
        return name;
    }

    public static Stream OpenTar(Stream raw)
    {
        var buffered = new PeekStream(raw);
        var head = buffered.Peek(4);
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b)
            return new GZipStream(buffered, CompressionMode.Decompress); // .NET reads concatenated members
        if (head.Length >= 3 && head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h')
            return new ConcatenatedBzip2Stream(buffered);
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
            // Reads frame after frame (Collect writes one per chunk), checks each frame's checksum, and fails
            // on a stream that ends inside a frame or on data after the last one that is not a frame.
            return new DecompressionStream(buffered, checkEndOfStream: true, leaveOpen: false);
        return buffered;
    }

    /// <summary>
    /// <paramref name="inner"/> read ahead on a thread of its own (reading the copy, its SHA-256 and the decompression),
    /// while the caller writes what it already has: Restore's two halves on two cores. Errors reach the caller's Read
    /// after the data read before them, as the same exception. Disposing stops the thread, then disposes
    /// <paramref name="inner"/>.
    /// </summary>
    public static Stream ReadAhead(Stream inner) => new ReadAheadStream(inner);

    private sealed class ReadAheadStream : ReadOnlyStream
    {
        private const int BufferSize = 1 << 20, Buffers = 4;
        private readonly Stream _inner;
        // Queues whose waits block at once (HandOff): BlockingCollection's spin with sched_yield.
        private readonly HandOff<(byte[] Data, int Length)> _full = new(Buffers);
        private readonly HandOff<byte[]> _free = new(Buffers);
        private readonly Thread _thread;
        private Exception? _error;
        private byte[]? _current;
        private int _at, _length;
        private bool _end, _disposed;

        public ReadAheadStream(Stream inner)
        {
            _inner = inner;
            for (var i = 0; i < Buffers; i++) _free.Add(new byte[BufferSize]);
            _thread = new Thread(Produce) { IsBackground = true, Name = "BackupBuild restore read-ahead" };
            _thread.Start();
        }

        private void Produce()
        {
            try
            {
                while (true)
                {
                    if (!_free.Take(out var buffer)) return; // disposed
                    var got = 0;
                    while (got < buffer.Length)
                    {
                        var n = _inner.Read(buffer, got, buffer.Length - got);
                        if (n == 0) break;
                        got += n;
                    }
                    if (!_full.Add((buffer, got)) || got == 0) return;
                }
            }
            catch (Exception e)
            {
                _error = e;
            }
            finally
            {
                _full.Complete();
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        // Straight into the caller's memory (Stream's default would read into a pooled array and copy).
        public override int Read(Span<byte> buffer)
        {
            var count = buffer.Length;
            while (true)
            {
                if (_current != null && _at < _length)
                {
                    var n = Math.Min(count, _length - _at);
                    _current.AsSpan(_at, n).CopyTo(buffer);
                    _at += n;
                    return n;
                }
                if (_current != null)
                {
                    _free.Add(_current);
                    _current = null;
                }
                if (_end || count == 0) return 0;
                if (!_full.Take(out var next))
                {
                    if (_error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
                    _end = true;
                    return 0;
                }
                _current = next.Data;
                _at = 0;
                _length = next.Length;
                if (_length == 0) _end = true;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _free.Complete();
                _full.Complete();
                _thread.Join();
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// Reads <paramref name="raw"/> and, once it is read to its end, checks it against the SHA-256 Collect recorded
    /// (when there is one): a damaged copy is noticed even where the compression has no checksum of its own.
    /// </summary>
    public static HashingStream Checked(Stream raw, string? sha256) => new(raw, sha256);

    internal sealed class HashingStream : ReadOnlyStream
    {
        private readonly Stream _inner;
        private readonly string? _expected;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public HashingStream(Stream inner, string? expected)
        {
            _inner = inner;
            _expected = expected;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = _inner.Read(buffer, offset, count);
            _hash.AppendData(buffer, offset, n);
            return n;
        }

        /// <summary>Reads what is left (after the tar's end) and compares.</summary>
        /// <exception cref="InvalidDataException">The copy is not what Collect wrote.</exception>
        public void Finish(Stream tar)
        {
            if (_expected == null) return;
            tar.CopyTo(Stream.Null);
            CopyTo(Stream.Null);
            var actual = Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();
            if (!string.Equals(actual, _expected, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"its SHA-256 is {actual}, Collect recorded {_expected}");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>A forward-only stream whose first bytes can be looked at before reading.</summary>
    private sealed class PeekStream : ReadOnlyStream
    {
        private readonly Stream _inner;
        private byte[] _pending = Array.Empty<byte>();
        private int _at;

        public PeekStream(Stream inner) => _inner = inner;

        public byte[] Peek(int count)
        {
            var buffer = new byte[count];
            var got = 0;
            while (got < count)
            {
                var n = _inner.Read(buffer, got, count - got);
                if (n == 0) break;
                got += n;
            }
            _pending = buffer[..got];
            _at = 0;
            return _pending;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_at < _pending.Length)
            {
                var n = Math.Min(count, _pending.Length - _at);
                Array.Copy(_pending, _at, buffer, offset, n);
                _at += n;
                return n;
            }
            return _inner.Read(buffer, offset, count);
        }

        public override int ReadByte()
        {
            if (_at < _pending.Length) return _pending[_at++];
            return _inner.ReadByte();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// bzip2 streams one after another (Collect writes one per chunk). SharpZipLib's reader stops at the end of
    /// the first stream, having read its input a byte at a time, so the next stream starts where it stopped.
    /// </summary>
    private sealed class ConcatenatedBzip2Stream : ReadOnlyStream
    {
        private readonly PeekStream _inner;
        private BZip2InputStream? _current;

        public ConcatenatedBzip2Stream(PeekStream inner)
        {
            _inner = inner;
            _current = new BZip2InputStream(inner) { IsStreamOwner = false };
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (_current != null)
            {
                var n = _current.Read(buffer, offset, count);
                if (n > 0) return n;
                _current.Dispose();
                _current = null;
                var head = _inner.Peek(3);
                if (head.Length == 3 && head[0] == (byte)'B' && head[1] == (byte)'Z' && head[2] == (byte)'h')
                    _current = new BZip2InputStream(_inner) { IsStreamOwner = false };
                else if (head.Length > 0 && head.Any(b => b != 0))
                    throw new InvalidDataException("Unexpected data after a bzip2 stream.");
            }
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _current?.Dispose();
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
