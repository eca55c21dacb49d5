namespace BackupBuild.Tasks.Purge;

/// <summary>
/// Cedar Backup's age of a file: whole days since it was last used, where "used" is the later of
/// its access and modification times. Reading a file therefore extends its life.
/// </summary>
public static class FileAge
{
    /// <summary>floor((now − max(atime, mtime)) / 1 day), never below 0; now in whole seconds as Cedar takes it.</summary>
    public static long WholeDays(DateTime lastAccessUtc, DateTime lastWriteUtc, long nowUnixSeconds)
    {
        var lastUse = Math.Max(lastAccessUtc.Ticks, lastWriteUtc.Ticks) - DateTime.UnixEpoch.Ticks;
        var elapsed = nowUnixSeconds * TimeSpan.TicksPerSecond - lastUse;
        return elapsed <= 0 ? 0 : elapsed / TimeSpan.TicksPerDay;
    }

    /// <summary>A regular file is kept while its age is below RetainDays: age N with RetainDays N is purged.</summary>
    public static bool IsKept(long ageInDays, int retainDays) => ageInDays < retainDays;
}
