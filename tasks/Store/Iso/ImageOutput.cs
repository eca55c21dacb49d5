namespace BackupBuild.Tasks.Store.Iso;

/// <summary>
/// Big sequential writes to the image stream, with two buffers: while one is written on a worker
/// thread the caller fills the other, so reading the sources and writing the image overlap.
/// The output stream is only ever used by one thread at a time.
/// </summary>
internal sealed class ImageOutput(Stream output, IProgress<long>? progress, CancellationToken cancel) : IDisposable
{
    public const int ChunkSize = 4 << 20; // a multiple of the block size, so file data stays block aligned

    private byte[] filling = GC.AllocateUninitializedArray<byte>(ChunkSize);
    private byte[] spare = GC.AllocateUninitializedArray<byte>(ChunkSize);
    private int filled;
    private Task pending = Task.CompletedTask;
    private long written;
    private int inFlight;
    private readonly WriteBehind writeBehind = new(output);

    /// <summary>Bytes handed to this writer so far, written or still buffered.</summary>
    public long Position => written + inFlight + filled;

    public void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, ChunkSize - filled);
            data[..n].CopyTo(filling.AsSpan(filled));
            filled += n;
            data = data[n..];
            if (filled == ChunkSize) Submit();
        }
    }

    public void Zeros(long count)
    {
        while (count > 0)
        {
            var n = (int)Math.Min(count, ChunkSize - filled);
            filling.AsSpan(filled, n).Clear();
            filled += n;
            count -= n;
            if (filled == ChunkSize) Submit();
        }
    }

    /// <summary>
    /// Copies up to <paramref name="count"/> bytes straight into the buffer, feeding them to <paramref name="hash"/>
    /// too while they are in the cache; returns how many the source had.
    /// </summary>
    public long CopyFrom(Stream source, long count, System.Security.Cryptography.IncrementalHash? hash = null)
    {
        long done = 0;
        while (done < count)
        {
            var n = source.Read(filling, filled, (int)Math.Min(count - done, ChunkSize - filled));
            if (n == 0) break;
            hash?.AppendData(filling, filled, n);
            filled += n;
            done += n;
            if (filled == ChunkSize) Submit();
        }
        return done;
    }

    public void Finish()
    {
        if (filled > 0) Submit();
        Wait();
        output.Flush();
    }

    private void Submit()
    {
        Wait();
        cancel.ThrowIfCancellationRequested();
        (filling, spare) = (spare, filling);
        var buffer = spare;
        var length = filled;
        inFlight = length;
        filled = 0;
        pending = Task.Run(() =>
        {
            output.Write(buffer, 0, length);
            writeBehind.Written(length);
        });
    }

    private void Wait()
    {
        if (inFlight == 0) return;
        pending.GetAwaiter().GetResult();
        written += inFlight;
        inFlight = 0;
        progress?.Report(written);
    }

    /// <summary>Never leaves a write running on the caller's stream, even when writing failed.</summary>
    public void Dispose()
    {
        try { pending.Wait(); } catch (AggregateException) { }
    }
}
