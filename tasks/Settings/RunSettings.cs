using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The run group (item BackupRunSettings): the date the run acts as of, the starting day, Cedar's full backup and how
/// long an action waits for another run of itself. Validate and every action parse it here, so a value is accepted
/// or refused with the same code everywhere.
/// </summary>
public sealed record RunSettings(RunClock Clock, bool Full, TimeSpan LockWait, string RunDate)
{
    public const string ItemType = "BackupRunSettings";

    /// <summary>The metadata of the item, each named after its property.</summary>
    public static readonly string[] Names = { "BackupRunDate", "StartingDay", "Full", "BackupLockWaitSeconds" };

    /// <summary>The group, or null when anything in it is wrong (every problem is in <paramref name="problems"/>).</summary>
    public static RunSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.All.Count(p => !p.IsWarning);
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var runDate = r.Text("BackupRunDate");
        var startingDay = r.Required("StartingDay");
        var clock = startingDay.Length == 0 ? null : RunClock.From(runDate, startingDay, problems);
        var full = r.Flag("Full");
        var lockWait = r.Integer("BackupLockWaitSeconds", 0);
        return clock == null || problems.All.Count(p => !p.IsWarning) > before
            ? null : new RunSettings(clock, full, TimeSpan.FromSeconds(lockWait), runDate);
    }

    /// <summary>For tasks that report problems as they go: parses, logs what is wrong, and returns null then.</summary>
    public static RunSettings? Parse(ITaskItem? item, Action<string, object[]> problem)
    {
        var problems = new Problems();
        var settings = Parse(item, problems);
        foreach (var p in problems.All) problem(p.ResourceName, p.Arguments);
        return settings;
    }
}
