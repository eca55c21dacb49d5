using System.Security.Cryptography;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Passes writes on to the archive file and hashes them on the way (on the pipeline's writer thread), so the
/// archive's SHA-256 is ready when it is written instead of costing a second read of the whole file afterwards.
/// Never closes the file.
/// </summary>
internal sealed class HashingOutput(Stream inner) : Stream
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => length;
    public override long Position { get => length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        hash.AppendData(buffer);
        length += buffer.Length;
    }

    public override void Flush() => inner.Flush();

    /// <summary>Lower-case hex of everything written.</summary>
    public string Sha256() => Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) hash.Dispose();
        base.Dispose(disposing);
    }
}
