using System.IO.Compression;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>Which compressor, if any, turns chunks of each archive format into output.</summary>
internal static class ChunkCompressors
{
    /// <summary>
    /// Null for plain tar: its chunks are written as they are. Each level is at least as small as the one
    /// before it: SmallestSize keeps, chunk by chunk, the smaller of the strongest setting's output and
    /// Optimal's (for bzip2: of 900 kB and 100 kB blocks), since no single setting wins on every kind of data.
    /// </summary>
    public static IChunkCompressor? For(ArchiveFormat format, CompressionLevel level) => (format, level) switch
    {
        (ArchiveFormat.Tar, _) => null,
        (ArchiveFormat.TarGz, CompressionLevel.SmallestSize) =>
            new SmallerOfCompressor(new GzipMemberCompressor(level), new GzipMemberCompressor(CompressionLevel.Optimal)),
        (ArchiveFormat.TarGz, _) => new GzipMemberCompressor(level),
        (ArchiveFormat.TarBz2, CompressionLevel.SmallestSize) => new SmallerOfCompressor(Bzip2(9), Bzip2(1)),
        (ArchiveFormat.TarBz2, _) => Bzip2(ManagedBzip2Compressor.BlockSizeFor(level)),
        (ArchiveFormat.TarZst, CompressionLevel.SmallestSize) =>
            new SmallerOfCompressor(Zstd(CompressionLevel.SmallestSize), Zstd(CompressionLevel.Optimal)),
        // Where Optimal leaves a chunk all but uncompressed, -1 can come out a few bytes smaller: try it there as
        // well, so Optimal is never larger than Fastest. Only there: random files with their tar headers still shrink
        // by 3% (the bench tree's), where Optimal is the smaller and -1 on every such chunk cost a fifth of the time.
        (ArchiveFormat.TarZst, CompressionLevel.Optimal) =>
            new SmallerOfCompressor(Zstd(CompressionLevel.Optimal), Zstd(CompressionLevel.Fastest), onlyAbove: 0.99),
        (ArchiveFormat.TarZst, _) => Zstd(level),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    // The system's libbz2 when there is one: about twice as fast as the managed encoder.
    private static IChunkCompressor Bzip2(int blockSize) => NativeBzip2Compressor.IsAvailable
        ? new NativeBzip2Compressor(blockSize)
        : new ManagedBzip2Compressor(blockSize);

    // The system's libzstd likewise; bench/zstd-libs.sh has the figures.
    private static IChunkCompressor Zstd(CompressionLevel level) => NativeZstdCompressor.IsAvailable
        ? new NativeZstdCompressor(level)
        : new ManagedZstdCompressor(level);
}
