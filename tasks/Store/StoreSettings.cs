using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>The validated store configuration.</summary>
public sealed record StoreSettings(string StagingDir, string WorkingDir, string ImageFile, MediaType Media, long Capacity,
    bool WarnMidnight, bool Full, RunClock Clock)
{
    public static StoreSettings? Parse(StoreImage t, Problems problems) =>
        Parse(t.StagingDir, t.WorkingDir, t.ImageFile, t.MediaType, t.ImageCapacity, t.WarnMidnight, t.RunDate,
            t.StartingDay, t.Full, problems);

    public static StoreSettings? Parse(string? stagingDir, string? workingDir, string? imageFile, string? mediaType,
        string? imageCapacity, string? warnMidnight, string? runDate, string? startingDay, string? full, Problems problems)
    {
        RunClock? clock = null;
        try { clock = RunClock.From(runDate, startingDay); }
        catch (CodedError e) { problems.Error(e.ResourceName, e.Arguments); }
        var staging = Values.AbsolutePath(stagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(workingDir, "WorkingDir", problems);
        var image = Values.AbsolutePath(imageFile, "StoreImageFile", problems);
        var media = Store.MediaType.Find(mediaType);
        if (media == null) problems.Error("Store.BadMediaType", mediaType ?? "", Store.MediaType.Names);
        long capacity = 0;
        if (media is { NewDiscBytes: { } fixedBytes }) capacity = fixedBytes;
        else if (media != null && (!ByteQuantity.TryParse(imageCapacity, out capacity) || capacity < 2048 * 32))
            problems.Error("Store.BadCapacity", imageCapacity ?? "");
        var warn = Values.Flag(warnMidnight, "StoreWarnMidnight", problems);
        var isFull = Values.Flag(full, "Full", problems);
        if (problems.HasErrors) return null;
        return new StoreSettings(staging!, working!, image!, media!, capacity, warn, isFull, clock!);
    }
}
