using System.Globalization;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// The date and time a run acts as of: now, or the BackupRunDate property (tests, re-running a
/// missed day). Every "today" decision uses this local time, as Cedar Backup does.
/// </summary>
public sealed class RunClock
{
    private static readonly string[] Formats =
    {
        "yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss",
    };

    public static readonly string[] DayNames =
        { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };

    public RunClock(DateTime now, DayOfWeek startingDay)
    {
        Now = now;
        StartingDay = startingDay;
    }

    public DateTime Now { get; }
    public DayOfWeek StartingDay { get; }
    public DateTime Today => Now.Date;
    public bool IsStartOfWeek => Now.DayOfWeek == StartingDay;

    /// <summary>The staging folder of a day, relative to the staging root: YYYY/MM/DD.</summary>
    public static string DayPath(DateTime day) => day.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);

    /// <summary>Parses the BackupRunDate property (empty means now) and the starting day name.</summary>
    public static RunClock From(string? runDate, string? startingDay)
    {
        var now = DateTime.Now;
        if (!string.IsNullOrWhiteSpace(runDate))
        {
            if (!DateTime.TryParseExact(runDate.Trim(), Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out now))
                throw new CodedError("Config.BadRunDate", runDate);
        }
        return new RunClock(now, ParseDay(startingDay));
    }

    /// <summary>Like <see cref="From"/>, but a bad value becomes a problem in the list instead of an exception.</summary>
    public static RunClock? From(string? runDate, string? startingDay, Problems problems)
    {
        try
        {
            return From(runDate, startingDay);
        }
        catch (CodedError e)
        {
            problems.Error(e.ResourceName, e.Arguments);
            return null;
        }
    }

    public static DayOfWeek ParseDay(string? name)
    {
        // No default of its own: StartingDay's (monday) is in targets/BackupBuild.props, and RunSettings refuses an empty one.
        var value = name ?? "";
        var index = Array.IndexOf(DayNames, value);
        if (index < 0) throw new CodedError("Config.BadStartingDay", value);
        return (DayOfWeek)((index + 1) % 7);
    }
}
