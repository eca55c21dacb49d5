using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The days Rebuild writes (Cedar's actions/rebuild.py): from the most recent starting day through today, each
/// day whose staging folder has cback.stage, whether or not it was stored.
/// </summary>
public static class RebuildWindow
{
    public static List<(DateTime Day, string Directory)> Days(string stagingDir, RunClock clock)
    {
        var back = ((int)clock.Today.DayOfWeek - (int)clock.StartingDay + 7) % 7;
        var days = new List<(DateTime, string)>();
        for (var day = clock.Today.AddDays(-back); day <= clock.Today; day = day.AddDays(1))
        {
            var directory = Path.Combine(stagingDir, RunClock.DayPath(day));
            if (File.Exists(Path.Combine(directory, Indicators.Stage))) days.Add((day, directory));
        }
        return days;
    }
}
