using System.Globalization;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Store;

/// <summary>Cedar's blank_behavior: on which days the ratio of free space to the session decides on a new disc.</summary>
public sealed record BlankBehavior(bool Daily, double Factor);

/// <summary>The validated store configuration, shared by Store, Rebuild, Initialize and Validate.</summary>
public sealed record StoreSettings(string StagingDir, string WorkingDir, string ImageFile, MediaType Media, long ImageCapacity,
    bool WarnMidnight, bool Full, RunClock Clock)
{
    /// <summary>The drive (/dev/sr0, or stdio:/path for a file xorriso treats as a drive); null: the image file is the medium.</summary>
    public string? Device { get; init; }
    public int? DriveSpeed { get; init; }
    public bool Eject { get; init; } = true;
    public int EjectDelaySeconds { get; init; }
    public int RefreshMediaDelaySeconds { get; init; }
    public bool CheckMedia { get; init; }
    public bool CheckData { get; init; }
    public string LabelPrefix { get; init; } = DefaultLabelPrefix;
    public BlankBehavior? Blank { get; init; }
    public string Xorriso { get; init; } = "xorriso";
    public int DriveTimeoutSeconds { get; init; } = 7200;

    public const string DefaultLabelPrefix = "CEDAR BACKUP";

    /// <summary>What the medium is called in messages: the device or the image file.</summary>
    public string MediumName => Device ?? ImageFile;

    /// <summary>Cedar's media label with the configured prefix: "CEDAR BACKUP 21-NOV-2026".</summary>
    public string Label(DateTime day) =>
        LabelPrefix + " " + day.ToString("dd-MMM-yyyy", CultureInfo.InvariantCulture).ToUpperInvariant();

    private static readonly Regex LabelPrefixPattern = new("^[A-Z0-9_][A-Z0-9_ -]{0,19}$", RegexOptions.CultureInvariant);

    public static StoreSettings? Parse(IStoreProperties p, Problems problems)
    {
        var clock = RunClock.From(p.RunDate, p.StartingDay, problems);
        var staging = Values.AbsolutePath(p.StagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(p.WorkingDir, "WorkingDir", problems);
        var image = Values.AbsolutePath(p.ImageFile, "StoreImageFile", problems);
        var media = Store.MediaType.Find(p.MediaType);
        if (media == null) problems.Error("Store.BadMediaType", p.MediaType ?? "", Store.MediaType.Names);
        long capacity = 0;
        if (media is { Kind: MediaKind.Image } && (!ByteQuantity.TryParse(p.ImageCapacity, out capacity) || capacity < 2048 * 32))
            problems.Error("Store.BadCapacity", p.ImageCapacity ?? "");
        var warn = Values.Flag(p.WarnMidnight, "StoreWarnMidnight", problems);
        var full = Values.Flag(p.Full, "Full", problems);

        var device = string.IsNullOrWhiteSpace(p.Device) ? null : p.Device.Trim();
        if (device != null && !(device.StartsWith('/') || device.StartsWith("stdio:/", StringComparison.Ordinal)))
            problems.Error("Media.BadDevice", device);
        int? speed = null;
        if (!string.IsNullOrWhiteSpace(p.DriveSpeed))
        {
            if (int.TryParse(p.DriveSpeed.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s >= 1) speed = s;
            else problems.Error("Media.BadDriveSpeed", p.DriveSpeed);
        }
        if (device == null) Validate.SelfFeeding.CheckImage(image, staging, p.CollectDir, (r, a) => problems.Error(r, a));
        var label = string.IsNullOrWhiteSpace(p.MediaLabel) ? DefaultLabelPrefix : p.MediaLabel.Trim();
        if (!LabelPrefixPattern.IsMatch(label)) problems.Error("Media.BadLabel", p.MediaLabel ?? "");

        var settings = new StoreSettings(staging!, working!, image!, media!, capacity, warn, full, clock!)
        {
            Device = device,
            DriveSpeed = speed,
            Eject = Values.Flag(p.Eject, "StoreEject", problems, fallback: true),
            EjectDelaySeconds = Values.Integer(p.EjectDelay, "StoreEjectDelay", problems, 0, min: 0),
            RefreshMediaDelaySeconds = Values.Integer(p.RefreshMediaDelay, "StoreRefreshMediaDelay", problems, 0, min: 0),
            CheckMedia = Values.Flag(p.CheckMedia, "StoreCheckMedia", problems),
            CheckData = Values.Flag(p.CheckData, "StoreCheckData", problems),
            LabelPrefix = label,
            Blank = ParseBlank(p.BlankMode, p.BlankFactor, problems),
            Xorriso = string.IsNullOrWhiteSpace(p.Xorriso) ? "xorriso" : p.Xorriso.Trim(),
            DriveTimeoutSeconds = Math.Max(1, Values.Integer(p.DriveTimeoutSeconds, "StoreDriveTimeoutSeconds", problems, 7200, min: 1)),
        };
        return problems.HasErrors ? null : settings;
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
