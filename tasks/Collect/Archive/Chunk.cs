namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// A slice of the tar stream on its way to the output: the producer fills <see cref="Input"/>, a worker
/// compresses it into <see cref="Output"/>, the writer copies the result out. Chunks are reused, so
/// their buffers are allocated once per archive, not once per slice.
/// </summary>
internal sealed class Chunk : IDisposable
{
    public Chunk(int size, bool compressed)
    {
        Input = GC.AllocateUninitializedArray<byte>(size);
        // Sized for incompressible data (which grows a little) so a worker seldom has to reallocate.
        Output = compressed ? new ChunkOutput(size + size / 64 + 4096) : null;
    }

    public byte[] Input { get; }

    /// <summary>Bytes of <see cref="Input"/> in use.</summary>
    public int Length { get; set; }

    /// <summary>The compressed form, or null when the archive is not compressed (the input is written as is).</summary>
    public ChunkOutput? Output { get; }

    /// <summary>Set once <see cref="Output"/> holds the finished result; the writer waits on it.</summary>
    public ManualResetEventSlim Ready { get; } = new(false);

    public ReadOnlySpan<byte> Result =>
        Output is null ? Input.AsSpan(0, Length) : Output.Written;

    /// <summary>Empties the chunk for the producer's next use.</summary>
    public void Reset()
    {
        Length = 0;
        Output?.Truncate(0);
        Ready.Reset();
    }

    public void Dispose() => Ready.Dispose();
}
