using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>Cedar Backup's choice of the staging day to store, plus our skip of an unchanged stored day.</summary>
public static class StagingDayChooser
{
    public enum Outcome { Store, AlreadyStored, NothingToStore }

    public sealed record Choice(Outcome Outcome, DateTime Day, string Directory, bool CrossedMidnight, bool Restore);

    /// <summary>
    /// With Full: today only, stored again even if stored before. Otherwise the first of today,
    /// yesterday, tomorrow that has cback.stage and no cback.store. When none qualifies and
    /// today was stored already: unchanged since → nothing to do; staged again since → store it again
    /// (Cedar would fail here and leave the new data off the medium).
    /// </summary>
    public static Choice Choose(string stagingDir, RunClock clock, bool full)
    {
        var today = clock.Today;
        string Dir(DateTime d) => Path.Combine(stagingDir, RunClock.DayPath(d));
        bool Staged(DateTime d) => File.Exists(Path.Combine(Dir(d), Indicators.Stage));
        bool Stored(DateTime d) => File.Exists(Path.Combine(Dir(d), Indicators.Store));

        if (full)
            return Staged(today)
                ? new Choice(Outcome.Store, today, Dir(today), false, Stored(today))
                : new Choice(Outcome.NothingToStore, today, Dir(today), false, false);

        foreach (var day in new[] { today, today.AddDays(-1), today.AddDays(1) })
            if (Staged(day) && !Stored(day))
                return new Choice(Outcome.Store, day, Dir(day), day != today, false);

        if (Staged(today) && Stored(today))
        {
            var recorded = StagingListing.Recorded(Dir(today));
            var unchanged = recorded == null || recorded == StagingListing.Fingerprint(Dir(today));
            return new Choice(unchanged ? Outcome.AlreadyStored : Outcome.Store, today, Dir(today), false, !unchanged);
        }
        return new Choice(Outcome.NothingToStore, today, Dir(today), false, false);
    }
}
