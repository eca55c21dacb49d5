using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Extensions.Repositories;

/// <summary>When a module item is backed up: Cedar's collect_mode.</summary>
public enum ModuleCollectMode { Daily, Weekly, Incr }

/// <summary>How a dump is compressed: Cedar's compress_mode.</summary>
public enum DumpCompression { None, Gzip, Bzip2 }

/// <summary>Parsing of the CollectMode and CompressMode metadata the repository and mail modules share.</summary>
public static class ModuleSettings
{
    public static ModuleCollectMode? CollectMode(string? value, string itemType, string item, Problems problems, ModuleCollectMode fallback)
    {
        switch (value?.Trim())
        {
            case null or "": return fallback;
            case "daily": return ModuleCollectMode.Daily;
            case "weekly": return ModuleCollectMode.Weekly;
            case "incr": return ModuleCollectMode.Incr;
            default:
                problems.Error("Repos.BadCollectMode", itemType, item, value);
                return null;
        }
    }

    public static DumpCompression? Compression(string? value, string itemType, string item, Problems problems, DumpCompression fallback)
    {
        switch (value?.Trim())
        {
            case null or "": return fallback;
            case "none": return DumpCompression.None;
            case "gzip": return DumpCompression.Gzip;
            case "bzip2": return DumpCompression.Bzip2;
            default:
                problems.Error("Repos.BadCompressMode", itemType, item, value);
                return null;
        }
    }

    /// <summary>The suffix Cedar adds for a compress mode: "", ".gz" or ".bz2".</summary>
    public static string Suffix(DumpCompression c) => c switch
    {
        DumpCompression.Gzip => ".gz",
        DumpCompression.Bzip2 => ".bz2",
        _ => "",
    };

    /// <summary>The tar format for a folder's dumps (mbox directories).</summary>
    public static ArchiveFormat TarFormat(DumpCompression c) => c switch
    {
        DumpCompression.Gzip => ArchiveFormat.TarGz,
        DumpCompression.Bzip2 => ArchiveFormat.TarBz2,
        _ => ArchiveFormat.Tar,
    };

    /// <summary>Cedar's rule: collect when Full, for daily and incr items, and for weekly items at the start of the week.</summary>
    public static bool CollectsToday(ModuleCollectMode mode, bool full, RunClock clock) =>
        full || mode != ModuleCollectMode.Weekly || clock.IsStartOfWeek;

    public static IEnumerable<ITaskItem> Of(ITaskItem[]? items) => items ?? Array.Empty<ITaskItem>();
}
