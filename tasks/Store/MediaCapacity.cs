namespace BackupBuild.Tasks.Store;

/// <summary>
/// How many bytes a session may take, by Cedar Backup's rules (writers/cdwriter.py, dvdwriter.py). A CD loses
/// 11,400 sectors of lead-in and lead-out on a new disc, but only 6,900 past the next writable address when
/// appending (so a nearly empty disc shows more room when appending: Cedar's quirk, kept). A DVD and an image
/// lose the sectors already used.
/// </summary>
public static class MediaCapacity
{
    private const long CdNewDiscOverhead = 11400;
    private const long CdAppendOverhead = 6900;

    /// <param name="imageCapacity">The configured capacity of the "image" media type, in bytes.</param>
    /// <param name="nextWritableBlock">Where the session would start on the medium (appending only).</param>
    public static long Available(MediaType media, long imageCapacity, bool newDisc, long nextWritableBlock)
    {
        long available = media.Kind switch
        {
            MediaKind.Cd when newDisc => ((long)media.NominalSectors - CdNewDiscOverhead) * MediaType.Sector,
            MediaKind.Cd => ((long)media.NominalSectors - nextWritableBlock - CdAppendOverhead) * MediaType.Sector,
            MediaKind.Dvd => (long)(media.NominalSectors * MediaType.Sector) - (newDisc ? 0 : nextWritableBlock * MediaType.Sector),
            _ => imageCapacity - (newDisc ? 0 : nextWritableBlock * MediaType.Sector),
        };
        return Math.Max(0, available);
    }

    /// <summary>The whole medium, for "how full is it" in log lines.</summary>
    public static long Total(MediaType media, long imageCapacity) => media.Kind switch
    {
        MediaKind.Cd => ((long)media.NominalSectors - CdNewDiscOverhead) * MediaType.Sector,
        MediaKind.Dvd => (long)(media.NominalSectors * MediaType.Sector),
        _ => imageCapacity,
    };
}
