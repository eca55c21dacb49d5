namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// The growable buffer a chunk is compressed into. Unlike MemoryStream, making room (<see cref="Reserve"/>) does
/// not zero the bytes the compressor is about to overwrite: a native compressor is given room for its worst case
/// (slightly more than the chunk) and fills only what it needs, and clearing that room for every 16 MiB zstd chunk
/// cost about 3% of a Collect's CPU time. Streaming compressors (GZipStream, SharpZipLib) write to it as a stream.
/// </summary>
internal sealed class ChunkOutput(int capacity = 0) : Stream
{
    private byte[] buffer = capacity > 0 ? GC.AllocateUninitializedArray<byte>(capacity) : [];
    private int length;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => buffer.AsSpan(0, length);

    /// <summary>
    /// Room for at least <paramref name="size"/> more bytes after what is written, contents undefined; write into it,
    /// then <see cref="Advance"/> by what was used. Valid until the next call that writes.
    /// </summary>
    public Span<byte> Reserve(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Grow((long)length + size);
        return buffer.AsSpan(length, size);
    }

    /// <summary>Commits <paramref name="count"/> bytes written into the span from <see cref="Reserve"/>.</summary>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)length + count, buffer.Length);
        length += count;
    }

    /// <summary>Drops everything from <paramref name="count"/> on (the buffer keeps its capacity).</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, length);
        length = count;
    }

    public override void Write(byte[] source, int offset, int count) => Write(source.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> source)
    {
        source.CopyTo(Reserve(source.Length));
        length += source.Length;
    }

    public override void WriteByte(byte value)
    {
        Reserve(1)[0] = value;
        length++;
    }

    private void Grow(long needed)
    {
        if (needed <= buffer.Length) return;
        if (needed > Array.MaxLength) throw new IOException("a compressed chunk larger than 2 GiB");
        var larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * buffer.Length)));
        buffer.AsSpan(0, length).CopyTo(larger);
        buffer = larger;
    }

    /// <summary>
    /// <see cref="Reserve(int)"/> for a compressor given either a chunk's output or a MemoryStream (as the dump and
    /// repository writers pass); a MemoryStream zero-fills the room.
    /// </summary>
    public static Span<byte> Reserve(Stream output, int size)
    {
        if (output is ChunkOutput chunk) return chunk.Reserve(size);
        var memory = (MemoryStream)output;
        var start = (int)memory.Length;
        memory.SetLength(start + (long)size);
        return memory.GetBuffer().AsSpan(start, size);
    }

    /// <summary>Keeps <paramref name="used"/> bytes of the <paramref name="reserved"/> from <see cref="Reserve(Stream, int)"/>.</summary>
    public static void Advance(Stream output, int reserved, int used)
    {
        if (output is ChunkOutput chunk)
        {
            chunk.Advance(used);
            return;
        }
        var memory = (MemoryStream)output;
        memory.SetLength(memory.Length - reserved + used);
        memory.Position = memory.Length;
    }

    /// <summary><see cref="Truncate(int)"/> for either kind of output.</summary>
    public static void Truncate(Stream output, int count)
    {
        if (output is ChunkOutput chunk) chunk.Truncate(count);
        else
        {
            output.SetLength(count);
            output.Position = count;
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => length;
    public override long Position { get => length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] target, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
