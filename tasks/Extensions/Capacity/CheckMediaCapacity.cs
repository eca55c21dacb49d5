using System.Globalization;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Store;

namespace BackupBuild.Tasks.Extensions.Capacity;

/// <summary>
/// Cedar's capacity extension: before Store, how full the medium is (image file or drive, as Store sees it) against
/// CapacityMaxPercentage or CapacityMinBytes. Over the line: a warning, as Cedar only logs; an error with
/// CapacityFailRun=true, which stops the run before Store.
/// </summary>
public sealed class CheckMediaCapacity : MediaTask
{
    /// <summary>Warn when more than this percentage of the medium is used, 0–100 (CapacityMaxPercentage).</summary>
    public string? MaxPercentage { get; set; }
    /// <summary>Warn when less than this is left, e.g. "500 MB" (CapacityMinBytes).</summary>
    public string? MinBytes { get; set; }
    /// <summary>true: over the line is an error that fails the run (CapacityFailRun).</summary>
    public string? FailRun { get; set; }

    protected override bool Run()
    {
        var problems = new Problems();
        double? maxPercent = null;
        long? minBytes = null;
        var hasPercent = !string.IsNullOrWhiteSpace(MaxPercentage);
        var hasBytes = !string.IsNullOrWhiteSpace(MinBytes);
        if (hasPercent == hasBytes) problems.Error("Capacity.ExactlyOne", MaxPercentage ?? "", MinBytes ?? "");
        else if (hasPercent)
        {
            if (double.TryParse(MaxPercentage!.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is >= 0 and <= 100)
                maxPercent = p;
            else problems.Error("Capacity.BadPercentage", MaxPercentage!);
        }
        else if (ByteQuantity.TryParse(MinBytes, out var b)) minBytes = b;
        else problems.Error("Capacity.BadMinBytes", MinBytes!);
        var failRun = Values.Flag(FailRun, "CapacityFailRun", problems);
        var settings = ParseSettings(problems);
        if (settings == null || problems.HasErrors) return false;

        var medium = OpenMedium(settings);
        var info = medium.Inspect();
        var total = MediaCapacity.Total(settings.Media, settings.ImageCapacity);
        var used = info.Blank ? 0 : Math.Min(total, info.NextWritableBlock * Store.MediaType.Sector);
        var available = total - used;
        var percent = 100.0 * used / Math.Max(1, total);
        var shown = percent.ToString("0.0", CultureInfo.InvariantCulture);

        string? resource = null;
        object[] args = [];
        if (maxPercent is { } max && percent > max)
            (resource, args) = ("Capacity.OverPercentage", [medium.Name, shown, Units.Bytes(used), Units.Bytes(total), settings.Media.Name,
                max.ToString(CultureInfo.InvariantCulture)]);
        else if (minBytes is { } min && available < min)
            (resource, args) = ("Capacity.UnderMinBytes", [medium.Name, Units.Bytes(available), Units.Bytes(used), Units.Bytes(total),
                settings.Media.Name, Units.Bytes(min)]);

        if (resource == null) Detail("Capacity.Fine", medium.Name, shown, Units.Bytes(available), settings.Media.Name);
        else if (failRun) Log.LogErrorWithCodeFromResources(resource, args);
        else Log.LogWarningWithCodeFromResources(resource, args);
        return true;
    }
}
