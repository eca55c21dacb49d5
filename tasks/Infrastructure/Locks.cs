namespace BackupBuild.Tasks.Infrastructure;

public static class Locks
{
    /// <summary>The BackupLockWaitSeconds property as a wait; bad values fall back to 60 s (Validate reports them).</summary>
    public static TimeSpan Wait(string? seconds) =>
        TimeSpan.FromSeconds(int.TryParse(seconds, out var s) && s >= 0 ? s : 60);
}
