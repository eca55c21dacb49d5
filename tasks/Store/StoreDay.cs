using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The Store action: the chosen staging day goes onto the medium, laid out as Cedar Backup lays out a disc
/// (YYYY/MM/DD/&lt;peer&gt;/…, label "CEDAR BACKUP DD-MON-YYYY"): on a new disc on the starting day, with Full or
/// by the blank factor, otherwise as a session appended to the week's medium; then cback.store.
/// </summary>
public sealed class StoreDay : MediaTask
{
    protected override bool Run()
    {
        var settings = ParseSettings(new Problems());
        if (settings == null) return false;

        using var storeLock = Lock(settings);
        var choice = StagingDayChooser.Choose(settings.StagingDir, settings.Clock, settings.Full);
        var dayPath = RunClock.DayPath(choice.Day);
        switch (choice.Outcome)
        {
            case StagingDayChooser.Outcome.NothingToStore:
                Log.LogErrorWithCodeFromResources(settings.Full ? "Store.NoStagedToday" : "Store.NoStagingDay",
                    settings.StagingDir, RunClock.DayPath(settings.Clock.Today));
                return false;
            case StagingDayChooser.Outcome.AlreadyStored:
                Progress("Store.AlreadyStored", dayPath, choice.Directory);
                return true;
        }
        if (choice.CrossedMidnight)
        {
            if (settings.WarnMidnight) Log.LogWarningWithCodeFromResources("Store.CrossedMidnight", dayPath);
            else Detail("Store.CrossedMidnightInfo", dayPath);
        }
        if (choice.Restore) Progress("Store.StoringAgain", dayPath);
        if (!HasNoStagingLeftovers(choice.Directory)) return false;
        if (settings.Device == null) AtomicFile.RemoveLeftovers(Path.GetDirectoryName(settings.ImageFile)!);

        var clock = Stopwatch.StartNew();
        var medium = OpenMedium(settings);
        var info = medium.Inspect();
        if (!LabelAccepted(settings, medium, info)) return false;

        // A Store that wrote this day and could not write cback.store (BKP1810): the medium holds it, so only cback.store is written.
        if (!choice.Restore && AlreadyOnMedium(medium, info, dayPath, choice.Directory) is { } held)
        {
            Progress("Store.AlreadyOnMedium", dayPath, medium.Name);
            return MarkStored(choice.Directory, dayPath, held, medium.Name);
        }

        var label = settings.Label(settings.Clock.Now);
        var days = new[] { (dayPath, choice.Directory) };
        var decision = NewDiscRule.Decide(settings.Full, settings.Clock.IsStartOfWeek, settings.Blank, () =>
            (MediaCapacity.Available(settings.Media, settings.ImageCapacity, false, info.NextWritableBlock),
             info.Blank || !info.Appendable ? 0 : medium.Measure(new SessionPlan(false, label, days, []))));
        var newDisc = decision.NewDisc || info.Blank;
        if (newDisc) Detail("Media.NewDiscReason", info.Blank ? "the medium is blank" : decision.Reason);

        var plan = new SessionPlan(newDisc, label, days, []);
        using var staged = new StagedDays(days, medium, Cancellation);
        if (!WriteSession(settings, medium, info, plan, staged, out var percent)) return false;

        // Written last, once the medium holds the day: it vouches for it.
        var files = staged[dayPath];
        if (!MarkStored(choice.Directory, dayPath, files, medium.Name)) return false;
        Progress("Store.Stored", dayPath, files.Count(e => e.IsRegularFile), Units.Bytes(files.Where(e => e.IsRegularFile).Sum(e => e.Size)),
            medium.Name, Units.Seconds(clock.Elapsed), percent, settings.Media.Name);
        return true;
    }
}
