using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Compresses chunks on worker threads and writes the results to the output in the order they were
/// submitted, on a writer thread of its own, so that the producer (reading files into the next chunk),
/// the compressors and the output device all work at the same time.
/// Memory stays bounded: at most <see cref="MaxChunks"/> chunks exist, and the producer waits for a free
/// one when all are in flight.
/// </summary>
internal sealed class CompressionPipeline : IDisposable
{
    private readonly Stream output;
    private readonly IChunkCompressor? compressor;
    private readonly int chunkSize;
    private readonly BlockingCollection<Chunk> free = new();
    private readonly BlockingCollection<Chunk> toCompress = new();
    private readonly BlockingCollection<Chunk> toWrite = new(); // in stream order
    private readonly List<Chunk> created = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Thread[] workers;
    private readonly Thread writer;
    private ExceptionDispatchInfo? failure;
    private long bytesOut;
    private bool completed;

    /// <param name="compressor">Null to write chunks as they are (plain tar).</param>
    /// <param name="threads">Compression workers; ignored without a compressor.</param>
    public CompressionPipeline(Stream output, IChunkCompressor? compressor, int chunkSize, int threads)
    {
        this.output = output;
        this.compressor = compressor;
        this.chunkSize = chunkSize;
        // One being filled, one being written, one being compressed per worker, and as many again waiting
        // so a worker never idles while the producer finishes its chunk. Large chunks (zstd's 16 MiB) keep
        // only one being filled and one being written beside the workers' within 64 MiB of input: zstd
        // compresses faster than the producer fills, so chunks hardly wait for a worker anyway.
        MaxChunks = compressor is null ? 3 : Math.Max(threads + 2, Math.Min(2 * threads + 2, InFlightInput / chunkSize));
        workers = new Thread[compressor is null ? 0 : threads];
        for (var i = 0; i < workers.Length; i++)
            workers[i] = Start(CompressLoop, "tar compression " + (i + 1));
        writer = Start(WriteLoop, "tar output");
    }

    public int MaxChunks { get; }

    private const int InFlightInput = 64 << 20;

    /// <summary>Bytes written to the output so far (read from any thread).</summary>
    public long BytesOut => Interlocked.Read(ref bytesOut);

    /// <summary>An empty chunk for the producer; waits while all chunks are in flight.</summary>
    public Chunk Rent()
    {
        ThrowIfFailed();
        if (free.TryTake(out var chunk)) return chunk;
        // Chunks are created on demand, so a small archive never allocates the whole set.
        if (created.Count < MaxChunks)
        {
            chunk = new Chunk(chunkSize, compressor is not null);
            created.Add(chunk);
            return chunk;
        }
        try
        {
            return free.Take(stop.Token);
        }
        catch (OperationCanceledException)
        {
            ThrowIfFailed();
            throw;
        }
    }

    /// <summary>Hands a filled chunk on; chunks reach the output in the order they are submitted.</summary>
    public void Submit(Chunk chunk)
    {
        ThrowIfFailed();
        if (compressor is null) chunk.Ready.Set();
        else toCompress.Add(chunk);
        toWrite.Add(chunk);
    }

    /// <summary>Waits until every submitted chunk is written, then flushes the output.</summary>
    public void Complete()
    {
        completed = true;
        toCompress.CompleteAdding();
        toWrite.CompleteAdding();
        writer.Join();
        foreach (var w in workers) w.Join();
        ThrowIfFailed();
        output.Flush();
    }

    private void CompressLoop()
    {
        try
        {
            foreach (var chunk in toCompress.GetConsumingEnumerable(stop.Token))
            {
                compressor!.Compress(chunk.Input, chunk.Length, chunk.Output!);
                chunk.Ready.Set();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception e) { Fail(e); }
    }

    private void WriteLoop()
    {
        try
        {
            foreach (var chunk in toWrite.GetConsumingEnumerable(stop.Token))
            {
                chunk.Ready.Wait(stop.Token);
                var result = chunk.Result;
                output.Write(result);
                Interlocked.Add(ref bytesOut, result.Length);
                chunk.Reset();
                free.Add(chunk);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (Exception e) { Fail(e); }
    }

    /// <summary>Keeps the first error (later ones are consequences) and stops every thread.</summary>
    private void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
        stop.Cancel();
    }

    /// <summary>Rethrows a worker's or the writer's error on the producer's thread, with its original stack.</summary>
    private void ThrowIfFailed() => Volatile.Read(ref failure)?.Throw();

    private static Thread Start(Action loop, string name)
    {
        // Background threads: a writer that is never disposed must not keep the build process alive.
        var thread = new Thread(() => loop()) { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    public void Dispose()
    {
        if (!completed || failure is not null) stop.Cancel();
        toCompress.CompleteAdding();
        toWrite.CompleteAdding();
        writer.Join();
        foreach (var w in workers) w.Join();
        foreach (var chunk in created) chunk.Dispose();
        (compressor as IDisposable)?.Dispose(); // native contexts kept between chunks (zstd)
        free.Dispose();
        toCompress.Dispose();
        toWrite.Dispose();
        stop.Dispose();
    }
}
