using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Media;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The Initialize action (Cedar's initializeMediaState): a new disc holding only an empty /CedarBackup folder,
/// labelled so that CheckMedia accepts it. Only rewritable media: the others could not be used afterwards.
/// </summary>
public sealed class InitializeMedium : MediaTask
{
    public const string MarkerDirectory = "CedarBackup";

    protected override bool Run()
    {
        var problems = new Problems();
        var settings = ParseSettings(problems, log: false);
        if (settings is { Media.Rewritable: false })
            problems.Error("Media.NotRewritable", settings.Media.Name, Store.MediaType.RewritableNames);
        problems.LogTo(Log);
        if (settings == null || problems.HasErrors) return false;

        using var storeLock = Lock(settings);
        if (settings.Device == null) AtomicFile.RemoveLeftovers(Path.GetDirectoryName(settings.ImageFile)!);
        var medium = OpenMedium(settings);
        var info = medium.Inspect(); // whatever is there, even a damaged image, is replaced

        var plan = new SessionPlan(true, settings.Label(settings.Clock.Now), [], [MarkerDirectory]);
        using var nothingStaged = new StagedDays([], null, Cancellation);
        if (!WriteSession(settings, medium, info, plan, nothingStaged, out _)) return false;
        Progress("Initialize.Done", medium.Name, plan.Label);
        return true;
    }
}
