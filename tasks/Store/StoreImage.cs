using System.Diagnostics;
using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store.Iso;

namespace BackupBuild.Tasks.Store;

/// <summary>
/// The Store action for an ISO image file: the chosen staging day goes onto a new image laid
/// out as Cedar Backup lays out a disc (YYYY/MM/DD/&lt;peer&gt;/…, label "CEDAR BACKUP DD-MON-YYYY"),
/// written by our own ISO 9660 + Rock Ridge writer; then cback.store.
/// </summary>
public sealed class StoreImage : BackupTask
{
    /// <summary>The staging root (StagingDir).</summary>
    public string? StagingDir { get; set; }
    /// <summary>Where locks and temporary files live.</summary>
    public string? WorkingDir { get; set; }
    /// <summary>The ISO image file that plays the disc (StoreImageFile).</summary>
    public string? ImageFile { get; set; }
    /// <summary>cdr-74, cdrw-74, cdr-80, cdrw-80, dvd+r, dvd+rw or image (StoreMediaType).</summary>
    public string? MediaType { get; set; }
    /// <summary>Capacity of the "image" media type, e.g. "4.4 GB" (StoreImageCapacity).</summary>
    public string? ImageCapacity { get; set; }
    /// <summary>true: warn when the day stored is yesterday's or tomorrow's (StoreWarnMidnight).</summary>
    public string? WarnMidnight { get; set; }
    public string? RunDate { get; set; }
    public string? StartingDay { get; set; }
    public string? Full { get; set; }
    public string? LockWaitSeconds { get; set; }

    internal static TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

    protected override bool Run()
    {
        var problems = new Problems();
        var settings = StoreSettings.Parse(this, problems);
        problems.LogTo(Log);
        if (settings == null) return false;

        using var _ = ActionLock.Acquire(settings.WorkingDir, "store", Locks.Wait(LockWaitSeconds), Cancellation);
        var choice = StagingDayChooser.Choose(settings.StagingDir, settings.Clock, settings.Full);
        switch (choice.Outcome)
        {
            case StagingDayChooser.Outcome.NothingToStore:
                Log.LogErrorWithCodeFromResources(settings.Full ? "Store.NoStagedToday" : "Store.NoStagingDay",
                    settings.StagingDir, RunClock.DayPath(settings.Clock.Today));
                return false;
            case StagingDayChooser.Outcome.AlreadyStored:
                Progress("Store.AlreadyStored", RunClock.DayPath(choice.Day), choice.Directory);
                return true;
        }
        if (choice.CrossedMidnight)
        {
            if (settings.WarnMidnight) Log.LogWarningWithCodeFromResources("Store.CrossedMidnight", RunClock.DayPath(choice.Day));
            else Detail("Store.CrossedMidnightInfo", RunClock.DayPath(choice.Day));
        }
        if (choice.Restore) Progress("Store.StoringAgain", RunClock.DayPath(choice.Day));

        var builder = new IsoImageBuilder(Label(settings.Clock.Now)) { CreationTime = settings.Clock.Now };
        try
        {
            builder.AddDirectory(RunClock.DayPath(choice.Day), choice.Directory);
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Store.CannotImage", choice.Directory, e.Message);
            return false;
        }
        if (builder.ImageSize > settings.Capacity)
        {
            Log.LogErrorWithCodeFromResources("Store.TooBig", RunClock.DayPath(choice.Day), Units.Bytes(builder.ImageSize),
                settings.Media.Name, Units.Bytes(settings.Capacity), settings.ImageFile);
            return false;
        }

        var fingerprint = StagingListing.Fingerprint(choice.Directory);
        var clock = Stopwatch.StartNew();
        long written = 0;
        using (new ProgressTicker(ProgressInterval, () => Progress("Store.Progress", settings.ImageFile,
                   Units.Bytes(Interlocked.Read(ref written)), Units.Bytes(builder.ImageSize))))
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(settings.ImageFile)!);
                AtomicFile.Write(settings.ImageFile, stream =>
                    builder.WriteTo(stream, new Progress<long>(n => Interlocked.Exchange(ref written, n)), Cancellation));
            }
            catch (IOException e)
            {
                Log.LogErrorWithCodeFromResources("Store.WriteFailed", settings.ImageFile, e.Message);
                return false;
            }
        }

        // Written last, only once the image is complete: it vouches for the day.
        AtomicFile.WriteAllBytes(Path.Combine(choice.Directory, Indicators.Store),
            StagingListing.IndicatorContent(fingerprint, settings.ImageFile));
        Progress("Store.Stored", RunClock.DayPath(choice.Day), builder.FileCount, Units.Bytes(builder.ImageSize),
            settings.ImageFile, Units.Seconds(clock.Elapsed),
            (100.0 * builder.ImageSize / settings.Capacity).ToString("0.0", CultureInfo.InvariantCulture), settings.Media.Name);
        return true;
    }

    /// <summary>Cedar's media label: "CEDAR BACKUP 21-NOV-2026".</summary>
    public static string Label(DateTime day) =>
        "CEDAR BACKUP " + day.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant();
}
