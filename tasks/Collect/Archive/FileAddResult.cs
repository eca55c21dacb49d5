namespace BackupBuild.Tasks.Collect.Archive;

/// <summary>
/// How a file's content compared with the size its header announced. The header is written before the
/// content is read, so a file that changes size while being archived cannot change its header: the entry
/// keeps the stat size either way and the archive stays readable; the caller decides what to report.
/// </summary>
public enum FileAddResult
{
    /// <summary>Exactly the announced number of bytes was read.</summary>
    Complete,

    /// <summary>The content ended early; the rest of the entry was filled with zero bytes.</summary>
    Shrank,

    /// <summary>More bytes followed the announced size; the entry holds only the first stat.Size bytes.</summary>
    Grew,
}
