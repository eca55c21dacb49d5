namespace BackupBuild.Tests.Collect;

/// <summary>Content that is <paramref name="length"/> zero bytes, produced without memory or disk.</summary>
internal sealed class ZeroStream(long length) : Stream
{
    private long position;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - position);
        buffer[..n].Clear();
        position += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>
/// Content that reads like <paramref name="inner"/> until <paramref name="failAfter"/> bytes, then throws,
/// the way a read error on a failing disk surfaces.
/// </summary>
internal sealed class FailingReadStream(Stream inner, long failAfter) : Stream
{
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (inner.Position >= failAfter) throw new IOException("simulated read error");
        return inner.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - inner.Position)]);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>An output that accepts <paramref name="capacity"/> bytes and then fails, like a full disk.</summary>
internal sealed class FullDiskStream(long capacity) : Stream
{
    public long Written { get; private set; }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Written + buffer.Length > capacity) throw new IOException("simulated: no space left on device");
        Written += buffer.Length;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// A file output that turns runs of zero bytes into holes, so an archive holding gigabytes of zeros
/// takes no disk space and readers skip over it quickly.
/// </summary>
internal sealed class SparseFileStream(string path) : Stream
{
    private readonly FileStream file = new(path, FileMode.CreateNew, FileAccess.Write);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IndexOfAnyExcept((byte)0) < 0) file.Seek(buffer.Length, SeekOrigin.Current);
        else file.Write(buffer);
    }

    /// <summary>Gives the file its full length when it ends in a hole.</summary>
    public override void Flush()
    {
        if (file.Length < file.Position) file.SetLength(file.Position);
        file.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) file.Dispose();
        base.Dispose(disposing);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => file.Position;
    public override long Position { get => file.Position; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
