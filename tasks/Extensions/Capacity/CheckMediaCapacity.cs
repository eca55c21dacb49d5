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
    /// <summary>
    /// @(BackupCapacitySettings): warn when more than CapacityMaxPercentage (0–100) of the medium is used, or when less
    /// than CapacityMinBytes is left (exactly one of them); CapacityFailRun=true makes it an error (Settings/CapacitySettings).
    /// </summary>
    public Microsoft.Build.Framework.ITaskItem? CapacitySettings { get; set; }

    protected override bool Run()
    {
        var problems = new Problems();
        var capacity = Settings.CapacitySettings.Parse(CapacitySettings, problems);
        var settings = ParseSettings(problems);
        if (settings == null || capacity == null || problems.HasErrors) return false;
        var (maxPercent, minBytes, failRun) = (capacity.MaxPercentage, capacity.MinBytes, capacity.FailRun);

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
