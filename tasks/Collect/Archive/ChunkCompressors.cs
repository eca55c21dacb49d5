using System.IO.Compression;

namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>Which compressor, if any, turns chunks of each archive format into output.</summary>
internal static class ChunkCompressors
{
    /// <summary>Null for plain tar: its chunks are written as they are.</summary>
    public static IChunkCompressor? For(ArchiveFormat format, CompressionLevel level) => format switch
    {
        ArchiveFormat.Tar => null,
        ArchiveFormat.TarGz => new GzipMemberCompressor(level),
        // The system's libbz2 when there is one: about twice as fast as the managed encoder.
        ArchiveFormat.TarBz2 => NativeBzip2Compressor.IsAvailable
            ? new NativeBzip2Compressor(level)
            : new ManagedBzip2Compressor(level),
        // The system's libzstd likewise; bench/zstd-libs.sh has the figures.
        ArchiveFormat.TarZst => NativeZstdCompressor.IsAvailable
            ? new NativeZstdCompressor(level)
            : new ManagedZstdCompressor(level),
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };
}
