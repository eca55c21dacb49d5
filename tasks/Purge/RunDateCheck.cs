using System.Globalization;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Purge;

/// <summary>A BackupRunDate far ahead of the system clock: a clock jump or a mistyped date, worth a warning.</summary>
public static class RunDateCheck
{
    /// <summary>How far ahead a run date may be before it is worth a warning.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromDays(1);

    /// <summary>The system clock's local time as text when an explicit run date is more than a day ahead of it; else null.</summary>
    public static string? AheadOfSystemClock(string? runDate, RunClock clock)
    {
        if (string.IsNullOrWhiteSpace(runDate)) return null;
        var system = DateTime.Now;
        return clock.Now - system > Tolerance ? system.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture) : null;
    }
}
