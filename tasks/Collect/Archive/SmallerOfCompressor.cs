namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// Compresses each chunk twice and keeps the smaller unit: how CompressionLevel.SmallestSize stays at least as
/// small as Optimal, chunk by chunk and so for the whole archive. zlib-ng's level 9 (the runtime's gzip) makes
/// larger output than its level 6 on some repetitive data (JSON-like listings, by about 1%), and zstd's level 19
/// is not bound to beat level 3 on every chunk either.
/// </summary>
/// <param name="onlyAbove">Tries <paramref name="second"/> only when the first output is larger than this share of
/// the input (1 or more: never; 0: always).</param>
internal sealed class SmallerOfCompressor(IChunkCompressor first, IChunkCompressor second, double onlyAbove = 0)
    : IChunkCompressor, IDisposable
{
    public IChunkCompressor First { get; } = first;

    public IChunkCompressor Second { get; } = second;

    // The second output goes to a buffer of the worker thread's own, so a chunk's output buffer never has to
    // hold both (it would grow to twice the chunk and stay so for the whole archive).
    [ThreadStatic] private static ChunkOutput? scratch;

    public void Compress(byte[] input, int count, Stream output)
    {
        var start = (int)output.Length;
        First.Compress(input, count, output);
        var firstLength = (int)output.Length - start;
        if (firstLength <= onlyAbove * count) return;
        var second = scratch ??= new ChunkOutput();
        second.Truncate(0);
        Second.Compress(input, count, second);
        if (second.Length < firstLength)
        {
            ChunkOutput.Truncate(output, start);
            output.Write(second.Written);
        }
    }

    public void Dispose()
    {
        (First as IDisposable)?.Dispose();
        (Second as IDisposable)?.Dispose();
    }
}
