using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The group of one collect module (item BackupGitSettings, BackupPostgresqlSettings…): the collect and compress modes
/// of its items that set none, the longest run of one program call, and what else the module reads from properties.
/// The module's task and Validate parse it here; Validate only when the module has items (as its target runs then).
/// The defaults are in targets/BackupBuild.props, under the module's Enable… switch.
/// </summary>
public sealed record ModuleGroup(string Module, string ItemType, string[] Names)
{
    public static readonly ModuleGroup Git = new("git", "BackupGitSettings", ["GitCollectMode", "GitTimeoutSeconds"]);
    public static readonly ModuleGroup Mbox = new("mbox", "BackupMboxSettings", ["MboxCollectMode", "MboxCompressMode", "MboxTimeoutSeconds"]);
    public static readonly ModuleGroup Subversion = new("subversion", "BackupSubversionSettings",
        ["SubversionCollectMode", "SubversionCompressMode", "SubversionTimeoutSeconds"]);
    public static readonly ModuleGroup Postgresql = new("postgresql", "BackupPostgresqlSettings",
        ["PostgresqlCompressMode", "PostgresqlTimeoutSeconds", "PostgresqlPort", "PostgresqlPassFile"]);
    public static readonly ModuleGroup Trac = new("trac", "BackupTracSettings", ["TracCompressMode", "TracTimeoutSeconds"]);
    public static readonly ModuleGroup Mediawiki = new("mediawiki", "BackupMediawikiSettings", ["MediawikiCompressMode", "MediawikiTimeoutSeconds"]);
    public static readonly ModuleGroup Wordpress = new("wordpress", "BackupWordpressSettings", ["WordpressCompressMode", "WordpressTimeoutSeconds"]);
    public static readonly ModuleGroup Sysinfo = new("sysinfo", "BackupSysinfoSettings", ["SysinfoListingRoot", "SysinfoTimeoutSeconds"]);

    public static readonly ModuleGroup[] All = [Git, Mbox, Subversion, Postgresql, Trac, Mediawiki, Wordpress, Sysinfo];

    /// <summary>The group an item is (its Include is the module's name, as BackupBuild.Settings.targets writes it).</summary>
    public static ModuleGroup? Of(ITaskItem item) => All.FirstOrDefault(g => g.Module == item.ItemSpec);

    private static readonly string[] CollectModes = ["daily", "weekly", "incr"];
    private static readonly string[] CompressModes = ["none", "gzip", "bzip2"];

    /// <summary>The parsed group: modes as their names (daily…, none…), empty for a module without them.</summary>
    public sealed record Parsed(string CollectMode, string CompressMode, int TimeoutSeconds, int? Port, string? PassFile, string? ListingRoot);

    public Parsed? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.ErrorCount;
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        string Choice(string suffix, string[] allowed)
        {
            var name = Names.FirstOrDefault(n => n.EndsWith(suffix, StringComparison.Ordinal));
            if (name == null) return "";
            var value = r.Required(name);
            if (value.Length > 0 && !allowed.Contains(value)) problems.Error("Config.BadChoice", name, value, string.Join(", ", allowed));
            return value;
        }
        var collectMode = Choice("CollectMode", CollectModes);
        var compressMode = Choice("CompressMode", CompressModes);
        var timeout = r.Integer(Names.Single(n => n.EndsWith("TimeoutSeconds", StringComparison.Ordinal)), 1);
        int? port = Names.Contains("PostgresqlPort") ? r.OptionalInteger("PostgresqlPort", 1) : null;
        var passFile = Names.Contains("PostgresqlPassFile")
            ? Values.AbsolutePath(r.Text("PostgresqlPassFile"), "PostgresqlPassFile", problems, required: false) : null;
        string? root = null;
        if (Names.Contains("SysinfoListingRoot") && r.Required("SysinfoListingRoot") is { Length: > 0 } rootText)
            root = Values.AbsolutePath(rootText, "SysinfoListingRoot", problems);
        return problems.ErrorCount > before ? null : new Parsed(collectMode, compressMode, timeout, port, passFile, root);
    }
}
