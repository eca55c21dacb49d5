using System.IO.Compression;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Collect;

public enum CollectMode { Daily, Weekly, Incr }

/// <summary>One CollectDirectory or CollectFile item with its defaults applied.</summary>
public sealed record CollectSource(
    string ItemType, string Path, bool IsFile, CollectMode Mode, ArchiveFormat Format, string IgnoreFile,
    IReadOnlyList<string> ExcludePaths, IReadOnlyList<Regex> ExcludePatterns,
    int LinkDepth, bool Dereference, int RecursionLevel)
{
    /// <summary>The configuration that decides what the archive holds: part of the collect stamp.</summary>
    public string Fingerprint =>
        string.Join("|", ItemType, Path, Mode, Format, IgnoreFile, string.Join(";", ExcludePaths),
            string.Join(";", ExcludePatterns.Select(p => p.ToString())), LinkDepth, Dereference, RecursionLevel);
}

/// <summary>The parsed and validated collect configuration of this machine.</summary>
public sealed class CollectConfiguration
{
    public static readonly string[] DirectoryMetadata =
    {
        "CollectMode", "ArchiveMode", "IgnoreFile", "ExcludePaths", "RelativeExcludePaths", "ExcludePatterns",
        "LinkDepth", "Dereference", "RecursionLevel",
    };

    public static readonly string[] FileMetadata = { "CollectMode", "ArchiveMode" };

    public required string CollectDir { get; init; }
    public required string WorkingDir { get; init; }
    public required RunClock Clock { get; init; }
    public required bool Full { get; init; }
    /// <summary>How long Collect waits for another Collect run (BackupLockWaitSeconds).</summary>
    public required TimeSpan LockWait { get; init; }
    public required bool RehashAll { get; init; }
    /// <summary>true (default): an incr archive carries every change since the last collect the master staged.</summary>
    public required bool CarryUnstaged { get; init; }
    public required CompressionLevel Level { get; init; }
    public required int Threads { get; init; }
    public required IReadOnlyList<CollectSource> Sources { get; init; }

    /// <summary>Incremental state is ignored (everything archived) on the starting day and with Full, as in Cedar.</summary>
    public bool ResetIncremental => Full || Clock.IsStartOfWeek;

    /// <summary>Cedar's rule: daily and incr every day, weekly on the starting day, everything with Full.</summary>
    public bool CollectsToday(CollectSource s) => Full || s.Mode != CollectMode.Weekly || Clock.IsStartOfWeek;

    public string ArchivePath(string sourcePath, ArchiveFormat format) =>
        System.IO.Path.Combine(CollectDir, NormalizedPath.From(sourcePath) + Extension(format));

    public string StatePath(string sourcePath) =>
        System.IO.Path.Combine(WorkingDir, NormalizedPath.From(sourcePath) + ".state");

    public static string Extension(ArchiveFormat f) => f switch
    {
        ArchiveFormat.TarGz => ".tar.gz",
        ArchiveFormat.TarBz2 => ".tar.bz2",
        ArchiveFormat.TarZst => ".tar.zst",
        _ => ".tar",
    };

    public const string SettingsItemType = "BackupCollectSettings";

    /// <summary>The metadata of BackupCollectSettings, each named after its property.</summary>
    public static readonly string[] SettingsNames =
    {
        "CollectMode", "ArchiveMode", "IgnoreFile", "CollectExcludePaths", "CollectExcludePatterns", "CollectRehashAll",
        "CollectCarryUnstaged", "CompressionLevel", "CompressionThreads",
    };

    /// <summary>
    /// The collect items with the run group and the collect group (item BackupCollectSettings, whose CollectMode,
    /// ArchiveMode and IgnoreFile are the defaults of items that do not set their own). Validate, ComputeCollectStamp
    /// and CollectArchives all parse it here.
    /// </summary>
    public static CollectConfiguration? Parse(ICollectParameters p, Problems problems, bool checkSources = true)
    {
        var run = Settings.RunSettings.Parse(p.RunSettings, problems);
        var r = new Settings.SettingsReader(p.CollectSettings, SettingsItemType, problems);

        var collectDir = Values.AbsolutePath(p.CollectDir, "CollectDir", problems);
        var workingDir = Values.AbsolutePath(p.WorkingDir, "WorkingDir", problems);
        var rehash = r.Flag("CollectRehashAll");
        var carry = r.Flag("CollectCarryUnstaged");
        var level = ParseLevel(r.Required("CompressionLevel"), problems);
        var threads = r.Integer("CompressionThreads", 0);
        if (threads == 0) threads = Environment.ProcessorCount;

        var defaultModeText = r.Required("CollectMode");
        var defaultFormatText = r.Required("ArchiveMode");
        var defaultMode = ParseMode(defaultModeText, "CollectMode", "(default)", "property", problems) ?? CollectMode.Daily;
        var defaultFormat = ParseFormat(defaultFormatText, "ArchiveMode", "(default)", "property", problems) ?? ArchiveFormat.TarGz;
        // Items get the properties as metadata from the ItemDefinitionGroup of targets/BackupBuild.props: an inherited value
        // is the property's, checked once above; only an item's own value is checked per item, and an item that sets one
        // to nothing has no value at all (BKP1151): the parser has no default of its own.
        string Own(ITaskItem item, string type, string name, string inherited)
        {
            var v = item.GetMetadata(name);
            if (v.Trim() == inherited) return "";
            if (v.Trim().Length == 0) problems.Error("Config.MissingItemMetadata", type, item.ItemSpec, name);
            return v;
        }
        var defaultIgnoreText = r.Required("IgnoreFile");
        var defaultIgnore = defaultIgnoreText.Length > 0 ? defaultIgnoreText : null;
        var globalExcludes = ParseExcludePaths(Values.List(r.Text("CollectExcludePaths")), "CollectExcludePaths", "(property)", problems);
        var globalPatterns = ParsePatterns(Values.List(r.Text("CollectExcludePatterns")), "CollectExcludePatterns", "(property)", problems);

        var sources = new List<CollectSource>();
        foreach (var item in p.CollectFiles ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "CollectFile", problems, FileMetadata);
            var path = ItemPath(item, "CollectFile", problems);
            var mode = ParseMode(Own(item, "CollectFile", "CollectMode", defaultModeText), "CollectMode", item.ItemSpec, "CollectFile", problems) ?? defaultMode;
            var format = ParseFormat(Own(item, "CollectFile", "ArchiveMode", defaultFormatText), "ArchiveMode", item.ItemSpec, "CollectFile", problems) ?? defaultFormat;
            if (path != null)
                sources.Add(new CollectSource("CollectFile", path, true, mode, format, "", Array.Empty<string>(),
                    Array.Empty<Regex>(), 0, false, 0));
        }
        foreach (var item in p.CollectDirectories ?? Array.Empty<ITaskItem>())
        {
            Values.UnknownMetadata(item, "CollectDirectory", problems, DirectoryMetadata);
            var path = ItemPath(item, "CollectDirectory", problems);
            var mode = ParseMode(Own(item, "CollectDirectory", "CollectMode", defaultModeText), "CollectMode", item.ItemSpec, "CollectDirectory", problems) ?? defaultMode;
            var format = ParseFormat(Own(item, "CollectDirectory", "ArchiveMode", defaultFormatText), "ArchiveMode", item.ItemSpec, "CollectDirectory", problems) ?? defaultFormat;
            var ignore = Own(item, "CollectDirectory", "IgnoreFile", defaultIgnoreText) is { Length: > 0 } own ? own : defaultIgnore;
            if (ignore == null || ignore.Contains('/'))
                problems.Error("Collect.BadIgnoreFile", item.ItemSpec, ignore ?? "");
            // Defaults 0, false, 0: the ItemDefinitionGroup's (Settings/ItemMetadata: an emptied one is BKP1151).
            var linkDepth = Settings.ItemMetadata.Integer(item, "CollectDirectory", "LinkDepth", problems, min: 0);
            var dereference = Settings.ItemMetadata.Flag(item, "CollectDirectory", "Dereference", problems);
            if (dereference && linkDepth < 1) problems.Error("Collect.DereferenceWithoutLinkDepth", item.ItemSpec);
            var recursion = Settings.ItemMetadata.Integer(item, "CollectDirectory", "RecursionLevel", problems);
            var excludes = new List<string>(globalExcludes);
            excludes.AddRange(ParseExcludePaths(Values.List(item.GetMetadata("ExcludePaths")), "ExcludePaths", item.ItemSpec, problems));
            if (path != null)
                excludes.AddRange(Values.List(item.GetMetadata("RelativeExcludePaths"))
                    .Select(r => Values.Trim(System.IO.Path.Join(path, r.TrimStart('/')))));
            var patterns = new List<Regex>(globalPatterns);
            patterns.AddRange(ParsePatterns(Values.List(item.GetMetadata("ExcludePatterns")), "ExcludePatterns", item.ItemSpec, problems));
            if (path != null)
                sources.Add(new CollectSource("CollectDirectory", path, false, mode, format, ignore ?? "", excludes, patterns,
                    linkDepth, dereference, recursion));
        }

        foreach (var clash in sources.GroupBy(s => NormalizedPath.From(s.Path)).Where(g => g.Count() > 1))
            problems.Error("Collect.SameArchiveName", string.Join("\", \"", clash.Select(s => s.Path)), clash.Key);

        if (checkSources)
        {
            foreach (var s in sources)
            {
                var exists = s.IsFile ? File.Exists(s.Path) : Directory.Exists(s.Path);
                if (!exists) problems.Error(s.IsFile ? "Collect.MissingFile" : "Collect.MissingDirectory", s.Path);
            }
        }

        if (problems.HasErrors || run == null || collectDir == null || workingDir == null) return null;
        return new CollectConfiguration
        {
            CollectDir = collectDir, WorkingDir = workingDir, Clock = run.Clock, Full = run.Full, LockWait = run.LockWait,
            RehashAll = rehash, CarryUnstaged = carry,
            Level = level, Threads = threads, Sources = sources,
        };
    }

    private static string? ItemPath(ITaskItem item, string type, Problems problems)
    {
        var spec = item.ItemSpec;
        if (!spec.StartsWith('/'))
        {
            problems.Error("Collect.RelativeItem", type, spec);
            return null;
        }
        return Values.Trim(spec);
    }

    private static readonly (string Name, CollectMode Value)[] Modes =
        { ("daily", CollectMode.Daily), ("weekly", CollectMode.Weekly), ("incr", CollectMode.Incr) };

    private static readonly (string Name, ArchiveFormat Value)[] Formats =
        { ("tar", ArchiveFormat.Tar), ("targz", ArchiveFormat.TarGz), ("tarbz2", ArchiveFormat.TarBz2),
          ("tarzst", ArchiveFormat.TarZst) };

    private static CollectMode? ParseMode(string? value, string metadata, string item, string type, Problems problems) =>
        ParseChoice(value, Modes, "Collect.BadCollectMode", metadata, item, type, problems);

    private static ArchiveFormat? ParseFormat(string? value, string metadata, string item, string type, Problems problems) =>
        ParseChoice(value, Formats, "Collect.BadArchiveMode", metadata, item, type, problems);

    /// <summary>One of a fixed set of lower-case names (Cedar's values are exact and case-sensitive); empty means "not set".</summary>
    private static T? ParseChoice<T>(string? value, (string Name, T Value)[] choices, string itemResource, string metadata,
        string item, string type, Problems problems) where T : struct
    {
        if (string.IsNullOrEmpty(value)) return null;
        foreach (var (name, choice) in choices)
            if (name == value) return choice;
        if (type == "property")
            problems.Error("Config.BadChoice", metadata, value, string.Join(", ", choices.Select(c => c.Name)));
        else problems.Error(itemResource, type, item, metadata, value);
        return null;
    }

    private static CompressionLevel ParseLevel(string value, Problems problems)
    {
        switch (value)
        {
            case "" or "optimal": return CompressionLevel.Optimal;
            case "fastest": return CompressionLevel.Fastest;
            case "smallest": return CompressionLevel.SmallestSize;
            default:
                problems.Error("Collect.BadCompressionLevel", value);
                return CompressionLevel.Optimal;
        }
    }

    private static IEnumerable<string> ParseExcludePaths(string[] values, string metadata, string item, Problems problems)
    {
        foreach (var v in values)
        {
            if (v.StartsWith('/')) yield return Values.Trim(v);
            else problems.Error("Collect.RelativeExcludePath", item, metadata, v);
        }
    }

    private static IEnumerable<Regex> ParsePatterns(string[] values, string metadata, string item, Problems problems)
    {
        var result = new List<Regex>();
        foreach (var v in values)
        {
            try
            {
                // Cedar matches re.match("^pattern$", absolute path): the whole path must match. Interpreted: the walk
                // compiles them when it has many paths to match (CollectWalker.Patterns).
                result.Add(new Regex("^(?:" + v + ")$", RegexOptions.CultureInvariant));
            }
            catch (ArgumentException e)
            {
                problems.Error("Collect.BadPattern", item, metadata, v, e.Message);
            }
        }
        return result;
    }
}

/// <summary>The task parameters every collect task (and Validate) shares (see targets/BackupBuild.targets).</summary>
public interface ICollectParameters
{
    ITaskItem[]? CollectDirectories { get; }
    ITaskItem[]? CollectFiles { get; }
    string? CollectDir { get; }
    string? WorkingDir { get; }
    /// <summary>@(BackupRunSettings).</summary>
    ITaskItem? RunSettings { get; }
    /// <summary>@(BackupCollectSettings).</summary>
    ITaskItem? CollectSettings { get; }
}
