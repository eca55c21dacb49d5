using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Settings;
using BackupBuild.Tasks.Store;
using Microsoft.Build.Framework;

namespace BackupBuild.Tests.Support;

/// <summary>
/// The defaults of targets/BackupBuild.props, read from the file itself (each `&lt;Name Condition="'$(Name)' == ''"&gt;value`),
/// and the settings items of targets/BackupBuild.Settings.targets built from them, with overrides: what tests that
/// run a task in process hand it, so no test repeats a default.
/// </summary>
public static class PropsDefaults
{
    /// <summary>Property name → the default as written in the props (unexpanded: "$(BackupRoot)collect/").</summary>
    public static IReadOnlyDictionary<string, string> Raw { get; } = Read();

    private static Dictionary<string, string> Read()
    {
        var doc = XDocument.Load(Path.Combine(Repo.Targets, "BackupBuild.props"));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in doc.Descendants().Where(e => e.Parent?.Name.LocalName == "PropertyGroup"))
        {
            var name = e.Name.LocalName;
            var condition = (string?)e.Attribute("Condition") ?? "";
            // The first unconditional-on-other-things default wins, as MSBuild's "only when still empty" does.
            if (condition.Replace(" ", "") == $"'$({name})'==''" && !result.ContainsKey(name)) result[name] = e.Value;
        }
        return result;
    }

    /// <summary>
    /// The per-item defaults of an item type (the ItemDefinitionGroups of the props), expanded: what MSBuild gives an item
    /// that sets none of them. In-process tests hand tasks items as MSBuild would.
    /// </summary>
    public static (string Name, string Value)[] ItemDefaults(string itemType, bool expand = true)
    {
        var doc = XDocument.Load(Path.Combine(Repo.Targets, "BackupBuild.props"));
        return doc.Descendants().Where(e => e.Name.LocalName == itemType && e.Parent?.Name.LocalName == "ItemDefinitionGroup")
            .SelectMany(e => e.Elements())
            .Select(m => (m.Name.LocalName, expand ? Regex.Replace(m.Value, @"\$\((\w+)\)", r => Value(r.Groups[1].Value)) : m.Value)).ToArray();
    }

    /// <summary>
    /// An item of the given type with the props' per-item defaults (%(Identity) is the item's name, as MSBuild gives it), then
    /// its own metadata (which win).
    /// </summary>
    public static ITaskItem Defined(string itemType, string spec, params (string Name, string Value)[] metadata) =>
        Items.Of(spec, ItemDefaults(itemType).Where(d => !metadata.Any(m => m.Name == d.Name))
            .Select(d => (d.Name, d.Value.Replace("%(Identity)", spec))).Concat(metadata).ToArray());

    /// <summary>BackupPeer's computed default: the short host name, lower case (as the props compute it).</summary>
    public static string HostPeer => Environment.MachineName.Split('.')[0].ToLowerInvariant();

    /// <summary>The default with $(Other) references expanded (BackupRoot given); function calls are not supported but BackupPeer's.</summary>
    public static string Value(string name, string backupRoot = "/var/lib/backupbuild/") =>
        name == "BackupPeer" ? HostPeer
        : Regex.Replace(Raw[name], @"\$\((\w+)\)", m => m.Groups[1].Value == "BackupRoot" ? backupRoot : Value(m.Groups[1].Value, backupRoot));

    /// <summary>An item of the given settings type holding every setting's default, then the overrides (property names).</summary>
    public static ITaskItem Item(string itemType, string[] names, params (string Name, string Value)[] overrides)
    {
        var item = new Microsoft.Build.Utilities.TaskItem(itemType);
        foreach (var name in names) item.SetMetadata(name, Value(name));
        foreach (var (name, value) in overrides)
        {
            if (!names.Contains(name)) throw new ArgumentException($"{name} is not in {itemType}");
            item.SetMetadata(name, value);
        }
        return item;
    }

    public static ITaskItem Run(params (string Name, string Value)[] overrides) => Item(RunSettings.ItemType, RunSettings.Names, overrides);

    public static ITaskItem Run(string runDate, string lockWait = "5", string full = "false") =>
        Run(("BackupRunDate", runDate), ("BackupLockWaitSeconds", lockWait), ("Full", full));

    public static ITaskItem Ssh(params (string Name, string Value)[] overrides) => Item(SshSettings.ItemType, SshSettings.Names, overrides);

    public static ITaskItem Store(params (string Name, string Value)[] overrides) => Item(StoreSettings.ItemType, StoreSettings.Names, overrides);

    public static ITaskItem Collect(params (string Name, string Value)[] overrides) =>
        Item(CollectConfiguration.SettingsItemType, CollectConfiguration.SettingsNames, overrides);

    public static ITaskItem Mail(params (string Name, string Value)[] overrides) =>
        Item(BackupBuild.Tasks.Infrastructure.Mailer.ItemType, BackupBuild.Tasks.Infrastructure.Mailer.Names, overrides);

    public static ITaskItem Mysql(params (string Name, string Value)[] overrides) =>
        Item(BackupBuild.Tasks.Extensions.Mysql.MysqlDump.SettingsItemType, BackupBuild.Tasks.Extensions.Mysql.MysqlDump.SettingsNames, overrides);

    public static ITaskItem S3(params (string Name, string Value)[] overrides) => Item(AmazonS3Settings.ItemType, AmazonS3Settings.Names, overrides);
    public static ITaskItem Encrypt(params (string Name, string Value)[] overrides) => Item(EncryptSettings.ItemType, EncryptSettings.Names, overrides);
    public static ITaskItem Split(params (string Name, string Value)[] overrides) => Item(SplitSettings.ItemType, SplitSettings.Names, overrides);
    public static ITaskItem Capacity(params (string Name, string Value)[] overrides) => Item(CapacitySettings.ItemType, CapacitySettings.Names, overrides);
    public static ITaskItem Span(params (string Name, string Value)[] overrides) => Item(SpanSettings.ItemType, SpanSettings.Names, overrides);
    public static ITaskItem Verify(params (string Name, string Value)[] overrides) => Item(VerifySettings.ItemType, VerifySettings.Names, overrides);
    /// <summary>A collect module's group (its Include is the module's name, as the settings targets write it).</summary>
    public static ITaskItem Module(ModuleGroup group, params (string Name, string Value)[] overrides)
    {
        var item = Item(group.ItemType, group.Names, overrides);
        item.ItemSpec = group.Module;
        return item;
    }

    public static ITaskItem Report(params (string Name, string Value)[] overrides) => Item(ReportSettings.ItemType, ReportSettings.Names, overrides);
    public static ITaskItem Schedule(params (string Name, string Value)[] overrides) => Item(ScheduleSettings.ItemType, ScheduleSettings.Names, overrides);
    public static ITaskItem Requests(params (string Name, string Value)[] overrides) => Item(RequestSettings.ItemType, RequestSettings.Names, overrides);
    public static ITaskItem Programs(params (string Name, string Value)[] overrides) => Item(ProgramSettings.ItemType, ProgramSettings.Names, overrides);
    public static ITaskItem Restore(params (string Name, string Value)[] overrides) => Item(RestoreSettings.ItemType, RestoreSettings.Names, overrides);
    public static ITaskItem Browse(params (string Name, string Value)[] overrides) => Item(BrowseSettings.ItemType, BrowseSettings.Names, overrides);
    public static ITaskItem Sync(params (string Name, string Value)[] overrides) => Item(SyncSettings.ItemType, SyncSettings.Names, overrides);
    public static ITaskItem Purge(params (string Name, string Value)[] overrides) => Item(PurgeSettings.ItemType, PurgeSettings.Names, overrides);
    public static ITaskItem Log(params (string Name, string Value)[] overrides) => Item(LogSettings.ItemType, LogSettings.Names, overrides);
}
