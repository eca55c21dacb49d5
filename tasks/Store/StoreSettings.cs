using System.Globalization;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Settings;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Store;

/// <summary>Cedar's blank_behavior: on which days the ratio of free space to the session decides on a new disc.</summary>
public sealed record BlankBehavior(bool Daily, double Factor);

/// <summary>The validated store configuration, shared by Store, Rebuild, Initialize, the capacity check and Validate.</summary>
public sealed record StoreSettings(string StagingDir, string WorkingDir, string ImageFile, MediaType Media, long ImageCapacity,
    bool WarnMidnight, bool Full, RunClock Clock)
{
    /// <summary>The drive (/dev/sr0, or stdio:/path for a file xorriso treats as a drive); null: the image file is the medium.</summary>
    public string? Device { get; init; }
    public int? DriveSpeed { get; init; }
    public required bool Eject { get; init; }
    public required int EjectDelaySeconds { get; init; }
    public required int RefreshMediaDelaySeconds { get; init; }
    public required bool CheckMedia { get; init; }
    public required bool CheckData { get; init; }
    public required string LabelPrefix { get; init; }
    public BlankBehavior? Blank { get; init; }
    public required string Xorriso { get; init; }
    public required int DriveTimeoutSeconds { get; init; }
    /// <summary>How long Store, Rebuild and Initialize wait for another run holding the store lock (BackupLockWaitSeconds).</summary>
    public required TimeSpan LockWait { get; init; }

    /// <summary>What the medium is called in messages: the device or the image file.</summary>
    public string MediumName => Device ?? ImageFile;

    /// <summary>Cedar's media label with the configured prefix: "CEDAR BACKUP 21-NOV-2026".</summary>
    public string Label(DateTime day) =>
        LabelPrefix + " " + day.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant();

    private static readonly Regex LabelPrefixPattern = new("^[A-Z0-9_][A-Z0-9_ -]{0,19}$", RegexOptions.CultureInvariant);

    public const string ItemType = "BackupStoreSettings";

    /// <summary>The metadata of BackupStoreSettings, each named after its property.</summary>
    public static readonly string[] Names =
    {
        "StoreMediaType", "StoreImageFile", "StoreImageCapacity", "StoreWarnMidnight", "StoreDevice", "StoreDriveSpeed",
        "StoreEject", "StoreEjectDelay", "StoreRefreshMediaDelay", "StoreCheckMedia", "StoreCheckData", "StoreMediaLabel",
        "StoreBlankMode", "StoreBlankFactor", "StoreXorrisoPath", "StoreDriveTimeoutSeconds",
    };

    /// <summary>
    /// The store group (item BackupStoreSettings) with the run group and the folders; Validate, Store, Rebuild,
    /// Initialize and the capacity check all parse it here. Null when anything is wrong (all of it in <paramref name="problems"/>).
    /// </summary>
    public static StoreSettings? Parse(ITaskItem? item, RunSettings? run, string? stagingDir, string? workingDir, string? collectDir,
        Problems problems)
    {
        var before = problems.All.Count(q => !q.IsWarning);
        var r = new SettingsReader(item, ItemType, problems);
        var staging = Values.AbsolutePath(stagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(workingDir, "WorkingDir", problems);
        if (!r.Present) return null;
        var image = Values.AbsolutePath(r.Text("StoreImageFile"), "StoreImageFile", problems);
        var mediaText = r.Required("StoreMediaType");
        var media = Store.MediaType.Find(mediaText);
        if (media == null && mediaText.Length > 0) problems.Error("Store.BadMediaType", mediaText, Store.MediaType.Names);
        long capacity = 0;
        var capacityText = r.Text("StoreImageCapacity");
        if (media is { Kind: MediaKind.Image } && (!ByteQuantity.TryParse(capacityText, out capacity) || capacity < 2048 * 32))
            problems.Error("Store.BadCapacity", capacityText);
        var warn = r.Flag("StoreWarnMidnight");

        var device = r.Text("StoreDevice") is { Length: > 0 } d ? d : null;
        if (device != null && !(device.StartsWith('/') || device.StartsWith("stdio:/", StringComparison.Ordinal)))
            problems.Error("Media.BadDevice", device);
        int? speed = null;
        if (r.Text("StoreDriveSpeed") is { Length: > 0 } speedText)
        {
            if (int.TryParse(speedText, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s >= 1) speed = s;
            else problems.Error("Media.BadDriveSpeed", speedText);
        }
        if (device == null) Validate.SelfFeeding.CheckImage(image, staging, collectDir, (res, a) => problems.Error(res, a));
        var label = r.Required("StoreMediaLabel");
        if (label.Length > 0 && !LabelPrefixPattern.IsMatch(label)) problems.Error("Media.BadLabel", label);

        var eject = r.Flag("StoreEject");
        var ejectDelay = r.Integer("StoreEjectDelay", 0);
        var refreshDelay = r.Integer("StoreRefreshMediaDelay", 0);
        var checkMedia = r.Flag("StoreCheckMedia");
        var checkData = r.Flag("StoreCheckData");
        var blank = ParseBlank(r.Text("StoreBlankMode"), r.Text("StoreBlankFactor"), problems);
        var xorriso = ProgramPath.Required(r, "StoreXorrisoPath", problems);
        var driveTimeout = r.Integer("StoreDriveTimeoutSeconds", 1);
        if (run == null || problems.All.Count(q => !q.IsWarning) > before) return null;
        return new StoreSettings(staging!, working!, image!, media!, capacity, warn, run.Full, run.Clock)
        {
            Device = device,
            DriveSpeed = speed,
            Eject = eject,
            EjectDelaySeconds = ejectDelay,
            RefreshMediaDelaySeconds = refreshDelay,
            CheckMedia = checkMedia,
            CheckData = checkData,
            LabelPrefix = label,
            Blank = blank,
            Xorriso = xorriso,
            DriveTimeoutSeconds = driveTimeout,
            LockWait = run.LockWait,
        };
    }

    /// <summary>
    /// Both or neither: Cedar accepts a mode without a factor and then fails at store time, and a factor without a
    /// mode silently disables the weekly new disc; here either half alone is a configuration error.
    /// </summary>
    private static BlankBehavior? ParseBlank(string? mode, string? factor, Problems problems)
    {
        var hasMode = !string.IsNullOrWhiteSpace(mode);
        var hasFactor = !string.IsNullOrWhiteSpace(factor);
        if (!hasMode && !hasFactor) return null;
        if (hasMode != hasFactor)
        {
            problems.Error("Media.BlankHalf", mode ?? "", factor ?? "");
            return null;
        }
        var m = mode!.Trim();
        if (m is not ("daily" or "weekly")) problems.Error("Config.BadChoice", "StoreBlankMode", mode!, "daily, weekly");
        if (!double.TryParse(factor!.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || f < 0 || !double.IsFinite(f))
        {
            problems.Error("Media.BadBlankFactor", factor!);
            return null;
        }
        return new BlankBehavior(m == "daily", f);
    }
}
