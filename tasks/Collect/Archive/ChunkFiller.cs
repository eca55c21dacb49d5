namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// The producer's end of the pipeline: the tar stream is written straight into chunk buffers (file
/// content is read directly into them, with no intermediate copy), and each chunk is handed to the
/// compressors the moment it is full.
/// </summary>
internal sealed class ChunkFiller(CompressionPipeline pipeline)
{
    private Chunk? current;

    /// <summary>Uncompressed bytes produced so far.</summary>
    public long Position { get; private set; }

    /// <summary>Free space at the end of the current chunk (never empty); fill it, then call <see cref="Advance"/>.</summary>
    public Span<byte> GetSpan()
    {
        current ??= pipeline.Rent();
        return current.Input.AsSpan(current.Length);
    }

    /// <summary>Commits <paramref name="count"/> bytes written into the span from <see cref="GetSpan"/>.</summary>
    public void Advance(int count)
    {
        current!.Length += count;
        Position += count;
        if (current.Length == current.Input.Length) SubmitCurrent();
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var span = GetSpan();
            var n = Math.Min(span.Length, data.Length);
            data[..n].CopyTo(span);
            Advance(n);
            data = data[n..];
        }
    }

    public void WriteZeros(long count)
    {
        while (count > 0)
        {
            var span = GetSpan();
            var n = (int)Math.Min(span.Length, count);
            span[..n].Clear();
            Advance(n);
            count -= n;
        }
    }

    /// <summary>Submits the partly filled last chunk.</summary>
    public void Flush()
    {
        if (current is { Length: > 0 }) SubmitCurrent();
    }

    private void SubmitCurrent()
    {
        var chunk = current!;
        current = null;
        pipeline.Submit(chunk);
    }
}
