namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>How much of the tar stream each compression unit covers.</summary>
internal static class ChunkSizes
{
    // Every chunk starts a new gzip member with an empty 32 KiB history, so its first kilobytes compress
    // worse (plus 18 bytes of member header and trailer). Measured on 100 MB of log-like text, against one
    // single member: 128 KiB chunks +3.3%, 256 KiB +1.7%, 512 KiB +0.8%, 1 MiB +0.4%, 4 MiB +0.1%. At 1 MiB
    // the loss stays well under 1% even for all-text data, the archive remains smaller than `tar czf`'s
    // (the runtime's zlib-ng at level 6 beats gzip -6 by about 2%), and the 2 * threads + 2 chunks in
    // flight hold about 4 MiB per thread.
    public const int Gzip = 1 << 20;

    // bzip2 compresses independent blocks of 900,000 - 19 input bytes at level 9 anyway, so splitting
    // costs only a stream header and trailer, plus a partial last block unless the chunk holds whole
    // blocks. Measured: 1, 2, 4 or 8 blocks per chunk all land within 0.15% of `tar cjf`; two blocks keep
    // memory low (bzip2 itself needs about 7.6 MB per worker) and chunks fine-grained.
    public const int Bzip2 = 2 * (900_000 - 19);

    // Every chunk is an independent zstd frame, which starts with an empty history. Measured on the bench tree
    // (bench/zstd-libs.sh) against one `zstd -3 -T0` stream: 1 MiB frames +5.7%, 4 MiB +1.1%, 8 MiB +0.3%,
    // 16 MiB -0.1% (zstd's own jobs keep only a quarter of their window from the job before). 16 MiB it is;
    // CompressionPipeline keeps fewer such chunks in flight (threads + 2 on two cores): about 270 MB peak for
    // a whole Collect on two cores.
    public const int Zstd = 16 << 20;

    // Uncompressed: the chunk is only the unit of output writes.
    public const int Tar = 1 << 20;

    public static int For(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => Gzip,
        ArchiveFormat.TarBz2 => Bzip2,
        ArchiveFormat.TarZst => Zstd,
        _ => Tar,
    };
}
