namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// The archive kinds Collect writes: Cedar Backup's archive modes tar, targz and tarbz2, and tarzst,
/// which Cedar Backup does not have.
/// </summary>
public enum ArchiveFormat
{
    /// <summary>An uncompressed GNU tar file (.tar).</summary>
    Tar,

    /// <summary>GNU tar compressed with gzip (.tar.gz).</summary>
    TarGz,

    /// <summary>GNU tar compressed with bzip2 (.tar.bz2).</summary>
    TarBz2,

    /// <summary>GNU tar compressed with zstd (.tar.zst), one frame per chunk. Not a Cedar Backup mode.</summary>
    TarZst,
}
