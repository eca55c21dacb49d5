using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Extensions.Mysql;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Settings;
using BackupBuild.Tasks.Store;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;
using Xunit;

namespace BackupBuild.Tests.Docs;

/// <summary>
/// Defaults live in one place, targets/BackupBuild.props: the manual's tables say the same, the settings items hand
/// every setting to its parser under its own name, and no parser has a default of its own to fall back on.
/// </summary>
public class DefaultsTests
{
    /// <summary>Each documented property's row: its names (a row may list several) and its default cell.</summary>
    private static Dictionary<string, List<(string File, string[] Names, string Default)>> DocumentedDefaults()
    {
        var rows = new Dictionary<string, List<(string, string[], string)>>();
        foreach (var file in Directory.GetFiles(Path.Combine(Repo.Root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // Only tables of properties whose second column is the default ("| property | default | meaning |"; the
            // modules' pages say "setting"); metadata tables give an item's defaults, often a property.
            var inDefaultsTable = false;
            foreach (var line in File.ReadLines(file))
            {
                if (!line.StartsWith('|')) { inDefaultsTable = false; continue; }
                var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
                if (cells.Length >= 3 && cells[1] == "default") { inDefaultsTable = cells[0] is "property" or "setting"; continue; }
                if (!inDefaultsTable || !cells[0].StartsWith('`')) continue;
                var names = Regex.Matches(cells[0], @"`([A-Za-z][A-Za-z0-9]*)`").Select(m => m.Groups[1].Value).ToArray();
                foreach (var name in names)
                {
                    if (!rows.TryGetValue(name, out var list)) rows[name] = list = new();
                    list.Add((Path.GetRelativePath(Repo.Root, file), names, cells[1]));
                }
            }
        }
        return rows;
    }

    [Fact]
    public void Every_default_in_the_props_is_the_default_the_manual_gives()
    {
        var rows = DocumentedDefaults();
        var wrong = new List<string>();
        foreach (var (name, value) in PropsDefaults.Raw)
        {
            if (value.StartsWith("$([", StringComparison.Ordinal)) continue; // computed (the host name): described in words
            if (!rows.TryGetValue(name, out var found))
            {
                wrong.Add($"{name}: no row in a \"| property | default | meaning |\" table of docs/");
                continue;
            }
            // Every page that gives the default gives the same one.
            foreach (var row in found)
            {
                // A row of several properties gives their defaults in order, separated by commas.
                var parts = row.Default.Split(", ");
                var cell = row.Names.Length > 1 && parts.Length == row.Names.Length ? parts[Array.IndexOf(row.Names, name)] : row.Default;
                if (!Matches(value, cell)) wrong.Add($"{name}: the props say \"{value}\", {row.File} says {row.Default}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Every_per_item_default_in_the_props_is_the_default_the_item_s_metadata_table_gives()
    {
        // The ItemDefinitionGroups of the props, as written ("$(CollectMode)", "3600"), against the "| metadata | default |"
        // table under the item's heading ("### `ActionHook` — …") in the manual (docs/configuration.md, request-queue.md…).
        var props = XDocument.Load(Path.Combine(Repo.Targets, "BackupBuild.props"));
        var definitions = props.Descendants().Where(e => e.Parent?.Name.LocalName == "ItemDefinitionGroup")
            .SelectMany(item => item.Elements().Select(m => (Item: item.Name.LocalName, Name: m.Name.LocalName, Value: m.Value))).ToList();
        var tables = new Dictionary<string, Dictionary<string, string>>();
        string? heading = null;
        var inTable = false;
        var lines = Directory.GetFiles(Path.Combine(Repo.Root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .SelectMany(f => File.ReadLines(f).Prepend("#"));
        foreach (var line in lines)
        {
            if (line.StartsWith('#')) { heading = Regex.Match(line, @"^#+ `([A-Za-z]+)`").Groups[1].Value; inTable = false; continue; }
            if (!line.StartsWith('|')) { inTable = false; continue; }
            var cells = line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            if (cells.Length >= 3 && cells[0] == "metadata" && cells[1] == "default") { inTable = !string.IsNullOrEmpty(heading); continue; }
            if (!inTable || !cells[0].StartsWith('`')) continue;
            if (!tables.TryGetValue(heading!, out var rows)) tables[heading!] = rows = new();
            // A row of several metadata gives their defaults in order, separated by commas.
            var names = Regex.Matches(cells[0], @"`([A-Za-z]+)`").Select(n => n.Groups[1].Value).ToArray();
            var parts = cells[1].Split(", ");
            for (var i = 0; i < names.Length; i++) rows[names[i]] = names.Length > 1 && parts.Length == names.Length ? parts[i] : cells[1];
        }
        var wrong = new List<string>();
        foreach (var (item, name, value) in definitions)
        {
            // Items of the extensions have their tables on their own pages (with the property the metadata inherits).
            if (!tables.TryGetValue(item, out var rows)) continue;
            if (!rows.TryGetValue(name, out var cell)) wrong.Add($"{item} {name}: no row in the metadata table of ### `{item}` in docs/");
            else if (!Regex.Matches(cell, "`([^`]*)`").Any(c => c.Groups[1].Value == value)) wrong.Add($"{item} {name}: the props say \"{value}\", docs/ says {cell}");
        }
        // The items of BackupBuild itself have their table (the modules' items: their pages describe them with the property).
        foreach (var item in new[] { "ActionHook", "CollectDirectory", "Peer", "BackupServer", "RequestClient" })
            Assert.True(tables.ContainsKey(item), $"no \"| metadata | default |\" table under ### `{item}` in docs/");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void The_S3_signing_region_with_an_endpoint_is_the_props_default_and_nothing_falls_back_to_it()
    {
        // The props give S3Region us-east-1 when S3Endpoint is set (and the SDK's own region otherwise); the manual says so.
        var props = XDocument.Load(Path.Combine(Repo.Targets, "BackupBuild.props"));
        var conditional = props.Descendants().Where(e => e.Name.LocalName == "S3Region" && e.Parent?.Name.LocalName == "PropertyGroup")
            .Single(e => ((string?)e.Attribute("Condition") ?? "").Contains("$(S3Endpoint)"));
        Assert.Equal("us-east-1", conditional.Value);
        Assert.Contains($"`{conditional.Value}`", File.ReadAllText(Path.Combine(Repo.Root, "docs", "extensions", "s3.md")));
        // An emptied region with an endpoint is BKP1101 in the group's parser (the upload, SyncToS3, Validate)…
        var problems = new Problems();
        AmazonS3Settings.Parse(PropsDefaults.S3(("S3Bucket", "bucket"), ("S3Endpoint", "http://127.0.0.1:9"), ("S3Region", "")), problems);
        Assert.Equal(["Config.MissingSetting"], problems.All.Select(p => p.ResourceName));
        // …and without an endpoint empty is a value of its own (the SDK's region).
        var none = new Problems();
        Assert.NotNull(AmazonS3Settings.Parse(PropsDefaults.S3(("S3Bucket", "bucket")), none));
        Assert.Empty(none.All);
    }

    /// <summary>A default cell says the value: `value`, or "empty …" for an empty one, or "`file` beside `backup.proj`".</summary>
    private static bool Matches(string value, string cell)
    {
        if (value.Length == 0) return Regex.IsMatch(cell, @"^(empty|—|\(empty|\(none\))");
        const string project = "$(MSBuildProjectDirectory)/";
        if (value.StartsWith(project, StringComparison.Ordinal))
            return cell.StartsWith($"`{value[project.Length..]}` beside `backup.proj`", StringComparison.Ordinal);
        return Regex.Matches(cell, "`([^`]*)`").Any(m => m.Groups[1].Value == value);
    }

    /// <summary>The groups of targets/BackupBuild.Settings.targets and the classes that parse them.</summary>
    public static readonly (string ItemType, string[] Names)[] Groups =
    [
        (RunSettings.ItemType, RunSettings.Names), (CollectConfiguration.SettingsItemType, CollectConfiguration.SettingsNames),
        (StoreSettings.ItemType, StoreSettings.Names), (SshSettings.ItemType, SshSettings.Names),
        (Mailer.ItemType, Mailer.Names), (MysqlDump.SettingsItemType, MysqlDump.SettingsNames),
        (AmazonS3Settings.ItemType, AmazonS3Settings.Names), (EncryptSettings.ItemType, EncryptSettings.Names),
        (SplitSettings.ItemType, SplitSettings.Names), (CapacitySettings.ItemType, CapacitySettings.Names),
        (SpanSettings.ItemType, SpanSettings.Names), (VerifySettings.ItemType, VerifySettings.Names),
        (ReportSettings.ItemType, ReportSettings.Names), (ScheduleSettings.ItemType, ScheduleSettings.Names),
        (RequestSettings.ItemType, RequestSettings.Names), (ProgramSettings.ItemType, ProgramSettings.Names),
        (RestoreSettings.ItemType, RestoreSettings.Names), (BrowseSettings.ItemType, BrowseSettings.Names),
        (SyncSettings.ItemType, SyncSettings.Names), (LogSettings.ItemType, LogSettings.Names),
        (PurgeSettings.ItemType, PurgeSettings.Names),
        .. ModuleGroup.All.Select(g => (g.ItemType, g.Names)),
    ];

    /// <summary>What turns an extension's group on (the targets and Validate read it only then); empty by default.</summary>
    private static readonly Dictionary<string, (string, string)[]> TurnedOn = new()
    {
        [AmazonS3Settings.ItemType] = [("S3Bucket", "bucket")],
        [EncryptSettings.ItemType] = [("EncryptRecipient", "backup@example.org")],
        [SplitSettings.ItemType] = [("SplitSizeLimit", "250 MB"), ("SplitSize", "100 MB")],
        [CapacitySettings.ItemType] = [("CapacityMaxPercentage", "90")],
    };

    private static ITaskItem Defaults(string itemType, string[] names, params (string, string)[] overrides) =>
        PropsDefaults.Item(itemType, names, (TurnedOn.TryGetValue(itemType, out var on) ? on : []).Concat(overrides).ToArray());

    [Fact]
    public void Each_settings_item_carries_every_setting_of_its_parser_under_the_property_s_name()
    {
        var doc = XDocument.Load(Path.Combine(Repo.Targets, "BackupBuild.Settings.targets"));
        var items = doc.Descendants().Where(e => e.Parent?.Name.LocalName == "ItemGroup").ToList();
        Assert.Equal(Groups.Select(g => g.ItemType).Order(), items.Select(i => i.Name.LocalName).Order());
        foreach (var (itemType, names) in Groups)
        {
            var item = items.Single(i => i.Name.LocalName == itemType);
            var metadata = item.Attributes().Where(a => a.Name.LocalName != "Include").ToList();
            Assert.Equal(names.Order(), metadata.Select(a => a.Name.LocalName).Order());
            foreach (var a in metadata)
            {
                Assert.Equal($"$({a.Name.LocalName})", a.Value);
                Assert.True(PropsDefaults.Raw.ContainsKey(a.Name.LocalName), $"{a.Name.LocalName} has no default in BackupBuild.props");
            }
        }
    }

    private sealed class CollectParameters(ITaskItem collect) : ICollectParameters
    {
        public ITaskItem[]? CollectDirectories => null;
        public ITaskItem[]? CollectFiles => null;
        public string? CollectDir => "/var/lib/backupbuild/collect";
        public string? WorkingDir => "/var/lib/backupbuild/work";
        public ITaskItem? RunSettings => PropsDefaults.Run();
        public ITaskItem? CollectSettings => collect;
    }

    /// <summary>Runs a group's parser on its item: the problems it reports.</summary>
    private static IReadOnlyList<Problem> Parse(string itemType, ITaskItem item)
    {
        var problems = new Problems();
        switch (itemType)
        {
            case RunSettings.ItemType: RunSettings.Parse(item, problems); break;
            case CollectConfiguration.SettingsItemType: CollectConfiguration.Parse(new CollectParameters(item), problems); break;
            case StoreSettings.ItemType:
                StoreSettings.Parse(item, RunSettings.Parse(PropsDefaults.Run(), problems), "/var/lib/backupbuild/staging", "/var/lib/backupbuild/work", null, problems);
                break;
            case SshSettings.ItemType: SshSettings.Parse(item, problems); break;
            case Mailer.ItemType: Mailer.Parse(item, problems); break;
            case MysqlDump.SettingsItemType: MysqlDump.ParseSettings(item, problems, onThisMachine: false); break;
            case AmazonS3Settings.ItemType: AmazonS3Settings.Parse(item, problems); break;
            case EncryptSettings.ItemType: EncryptSettings.Parse(item, problems); break;
            case SplitSettings.ItemType: SplitSettings.Parse(item, problems); break;
            case CapacitySettings.ItemType: CapacitySettings.Parse(item, problems); break;
            case SpanSettings.ItemType: SpanSettings.Parse(item, problems); break;
            case VerifySettings.ItemType: VerifySettings.Parse(item, problems); break;
            case ReportSettings.ItemType: ReportSettings.Parse(item, problems); break;
            case ScheduleSettings.ItemType: ScheduleSettings.Parse(item, problems, requestLines: true); break;
            case RequestSettings.ItemType: RequestSettings.Parse(item, problems); break;
            case ProgramSettings.ItemType: ProgramSettings.Parse(item, problems); break;
            case RestoreSettings.ItemType: RestoreSettings.Parse(item, problems); break;
            case BrowseSettings.ItemType: BrowseSettings.Parse(item, problems); break;
            case SyncSettings.ItemType: SyncSettings.Parse(item, problems); break;
            case LogSettings.ItemType: LogSettings.Parse(item, problems); break;
            case PurgeSettings.ItemType: PurgeSettings.Parse(item, problems); break;
            case var t when ModuleGroup.All.Any(g => g.ItemType == t): ModuleGroup.All.Single(g => g.ItemType == t).Parse(item, problems); break;
            default: throw new ArgumentException(itemType);
        }
        return problems.All;
    }

    [Fact]
    public void No_parser_has_a_default_of_its_own_an_emptied_setting_is_an_error_unless_its_default_is_empty()
    {
        var wrong = new List<string>();
        foreach (var (itemType, names) in Groups)
        {
            var defaults = Defaults(itemType, names);
            var clean = Parse(itemType, defaults).Where(p => !p.IsWarning).ToList();
            Assert.True(clean.Count == 0, $"{itemType} with the props' defaults: {string.Join("; ", clean)}");
            // SshCiphers, ReportTextFile, the optional schedule lines: empty is a value of its own (ssh's own list; no text
            // summary; no such cron line), given on the command line.
            foreach (var name in names.Where(n => PropsDefaults.Value(n).Length > 0 && n is not ("SshCiphers" or "ReportTextFile"
                         or "ScheduleRequestSummaryTime" or "ScheduleReportTime" or "ScheduleVerifyTime" or "ScheduleRequestAllTime")))
            {
                var item = Defaults(itemType, names, (name, ""));
                // The image capacity is read only for the image media type.
                if (name == "StoreImageCapacity") item.SetMetadata("StoreMediaType", "image");
                if (!Parse(itemType, item).Any(p => !p.IsWarning))
                    wrong.Add($"{itemType}: {name} empty is accepted, so the parser has a default of its own (the props give \"{PropsDefaults.Value(name)}\")");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
