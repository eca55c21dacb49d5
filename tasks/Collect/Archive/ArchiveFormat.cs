namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>The archive kinds Cedar Backup's collect action writes (its archive modes tar, targz and tarbz2).</summary>
public enum ArchiveFormat
{
    /// <summary>An uncompressed GNU tar file (.tar).</summary>
    Tar,

    /// <summary>GNU tar compressed with gzip (.tar.gz).</summary>
    TarGz,

    /// <summary>GNU tar compressed with bzip2 (.tar.bz2).</summary>
    TarBz2,
}
