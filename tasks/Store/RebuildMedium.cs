using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The Rebuild action: every staged day of the current week (starting day through today) in one session on a
/// new disc, checked like Store, then cback.store in each of those days.
/// </summary>
public sealed class RebuildMedium : MediaTask
{
    protected override bool Run()
    {
        var settings = ParseSettings(new Problems());
        if (settings == null) return false;

        using var storeLock = Lock(settings);
        var window = RebuildWindow.Days(settings.StagingDir, settings.Clock);
        if (window.Count == 0)
        {
            var from = settings.Clock.Today.AddDays(-(((int)settings.Clock.Today.DayOfWeek - (int)settings.Clock.StartingDay + 7) % 7));
            Log.LogErrorWithCodeFromResources("Rebuild.NoDays", settings.StagingDir, RunClock.DayPath(from), RunClock.DayPath(settings.Clock.Today));
            return false;
        }
        if (settings.Device == null) AtomicFile.RemoveLeftovers(Path.GetDirectoryName(settings.ImageFile)!);
        if (window.Select(d => HasNoStagingLeftovers(d.Directory)).ToList().Contains(false)) return false;

        var medium = OpenMedium(settings);
        var info = medium.Inspect();
        if (!LabelAccepted(settings, medium, info)) return false;

        var days = window.Select(d => (RunClock.DayPath(d.Day), d.Directory)).ToList();
        using var staged = new StagedDays(days, medium, Cancellation);
        var plan = new SessionPlan(true, settings.Label(settings.Clock.Now), days, []);
        if (!WriteSession(settings, medium, info, plan, staged, out var percent)) return false;

        var marked = true;
        foreach (var (dayPath, directory) in days) marked &= MarkStored(directory, dayPath, staged[dayPath], medium.Name);
        if (!marked) return false;
        Progress("Rebuild.Done", days.Count, string.Join(", ", days.Select(d => d.Item1)), medium.Name, percent, settings.Media.Name);
        return true;
    }
}
