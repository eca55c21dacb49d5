namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>How much of the tar stream each compression unit covers.</summary>
internal static class ChunkSizes
{
    // Every chunk starts a new gzip member with an empty 32 KiB history, so its first kilobytes compress
    // a little worse, and costs 18 bytes of member header and trailer. Larger chunks dilute that loss but
    // hold more memory and give the workers fewer, coarser pieces to share.
    public const int Gzip = 1 << 20;

    // bzip2 compresses in independent blocks of up to 900 kB anyway; a chunk of several whole blocks
    // loses only on its last, partly filled block.
    public const int Bzip2 = 4 * 900_000;

    // Uncompressed: the chunk is only the unit of output writes.
    public const int Tar = 1 << 20;

    public static int For(ArchiveFormat format) => format switch
    {
        ArchiveFormat.TarGz => Gzip,
        ArchiveFormat.TarBz2 => Bzip2,
        _ => Tar,
    };
}
