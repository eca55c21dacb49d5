using System.Globalization;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Import;

public sealed record CedarOverride(CedarNode Node, string? Command, string? AbsolutePath);
public sealed record CedarHook(CedarNode Node, bool Before, string? Action, string? Command);

public sealed class CedarPeer
{
    public required CedarNode Node { get; init; }
    public bool Remote { get; init; }
    public string? Name { get; init; }
    public string? CollectDir { get; init; }
    public string? IgnoreFailures { get; init; }
    public string? RemoteUser { get; init; }
    public string? RcpCommand { get; init; }
    public string? RshCommand { get; init; }
    public string? CbackCommand { get; init; }
    public bool? Managed { get; init; }
    public List<string>? ManagedActions { get; init; }
}

public sealed class CedarCollectItem
{
    public required CedarNode Node { get; init; }
    public bool IsDirectory { get; init; }
    public string? AbsolutePath { get; init; }
    public string? CollectMode { get; init; }
    public string? ArchiveMode { get; init; }
    public string? IgnoreFile { get; init; }
    public int? LinkDepth { get; init; }
    public bool? Dereference { get; init; }
    public int? RecursionLevel { get; init; }
    public List<string> ExcludePaths { get; init; } = new();
    public List<string> RelativeExcludePaths { get; init; } = new();
    public List<string> ExcludePatterns { get; init; } = new();
}

public sealed record CedarExtension(CedarNode Node, string? Name, string? Module, string? Function, int? Index,
    bool HasDepends, List<string>? RunBefore, List<string>? RunAfter);

/// <summary>
/// A cback3.conf parsed and validated by Cedar Backup 3's own rules (CedarBackup3/config.py, and
/// each extension's LocalConfig): what Cedar rejects gets a coded error naming the element, what it
/// accepts passes. The model keeps what the project writer needs.
/// </summary>
public sealed class CedarConfig
{
    public static readonly string[] Days = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };
    public static readonly string[] CollectModes = { "daily", "weekly", "incr" };
    public static readonly string[] ArchiveModes = { "tar", "targz", "tarbz2" };
    public static readonly string[] CompressModes = { "none", "gzip", "bzip2" };
    public static readonly string[] FailureModes = { "none", "all", "daily", "weekly" };
    public static readonly string[] CdMedia = { "cdr-74", "cdrw-74", "cdr-80", "cdrw-80" };
    public static readonly string[] DvdMedia = { "dvd+r", "dvd+rw" };
    public static readonly string[] DeviceTypes = { "cdwriter", "dvdwriter" };
    public static readonly string[] BlankModes = { "daily", "weekly" };
    public static readonly string[] OrderModes = { "index", "dependency" };
    public static readonly string[] EncryptModes = { "gpg" };

    /// <summary>Cedar's own extensions by module, and the section each reads.</summary>
    public static readonly IReadOnlyDictionary<string, string> KnownModules = new Dictionary<string, string>
    {
        ["CedarBackup3.extend.sysinfo"] = "sysinfo",
        ["CedarBackup3.extend.mysql"] = "mysql",
        ["CedarBackup3.extend.postgresql"] = "postgresql",
        ["CedarBackup3.extend.subversion"] = "subversion",
        ["CedarBackup3.extend.mbox"] = "mbox",
        ["CedarBackup3.extend.encrypt"] = "encrypt",
        ["CedarBackup3.extend.split"] = "split",
        ["CedarBackup3.extend.capacity"] = "capacity",
        ["CedarBackup3.extend.amazons3"] = "amazons3",
    };

    private static readonly Regex ActionName = new("^[a-z0-9]*$");
    private static readonly Regex ModuleName = new(@"^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*$");
    private static readonly Regex FunctionName = new(@"^[A-Za-z_][A-Za-z0-9_]*$");
    private static readonly Regex ScsiId = new(@"^\s*(.*:)?\s*[0-9]+\s*,\s*[0-9]+\s*,\s*[0-9]+\s*$");
    private static readonly Regex ScsiIdMac = new(@"^\s*IO.*Services(/[0-9]+)?\s*$");

    private readonly Problems _problems;

    private CedarConfig(CedarNode? root, Problems problems)
    {
        Root = root;
        _problems = problems;
    }

    public CedarNode? Root { get; }
    public CedarNode? Options { get; private set; }
    public CedarNode? PeersSection { get; private set; }
    public CedarNode? Collect { get; private set; }
    public CedarNode? Stage { get; private set; }
    public CedarNode? Store { get; private set; }
    public CedarNode? Purge { get; private set; }
    public CedarNode? Extensions { get; private set; }

    public string? StartingDay { get; private set; }
    public string? WorkingDir { get; private set; }
    public string? BackupUser { get; private set; }
    public string? BackupGroup { get; private set; }
    public string? RcpCommand { get; private set; }
    public string? RshCommand { get; private set; }
    public string? CbackCommand { get; private set; }
    public List<string>? ManagedActions { get; private set; }
    public List<CedarOverride> Overrides { get; } = new();
    public List<CedarHook> Hooks { get; } = new();

    public List<CedarPeer>? Peers { get; private set; }
    public List<CedarPeer>? StagePeers { get; private set; }

    public string? CollectDir { get; private set; }
    public string? CollectMode { get; private set; }
    public string? ArchiveMode { get; private set; }
    public string? IgnoreFile { get; private set; }
    public List<string> ExcludePaths { get; } = new();
    public List<string> ExcludePatterns { get; } = new();
    public List<CedarCollectItem> CollectItems { get; } = new();

    public string? StagingDir { get; private set; }

    public string? SourceDir { get; private set; }
    public string? MediaType { get; private set; }
    public string? DeviceType { get; private set; }
    public string? TargetDevice { get; private set; }
    public string? ScsiIdValue { get; private set; }
    public int? DriveSpeed { get; private set; }
    public bool? CheckData { get; private set; }
    public bool? CheckMedia { get; private set; }
    public bool? WarnMidnite { get; private set; }
    public bool? NoEject { get; private set; }
    public CedarNode? BlankBehavior { get; private set; }
    public string? BlankMode { get; private set; }
    public string? BlankFactor { get; private set; }
    public int? RefreshMediaDelay { get; private set; }
    public int? EjectDelay { get; private set; }

    public List<(CedarNode Node, string? Path, int? RetainDays)> PurgeDirs { get; } = new();

    public string? OrderMode { get; private set; }
    public List<CedarExtension> ExtensionActions { get; } = new();

    /// <summary>Parses and validates a whole document as every cback3 run does before acting.</summary>
    public static CedarConfig Read(CedarNode document, Problems problems)
    {
        var root = document.First("cb_config");
        var config = new CedarConfig(root, problems);
        config.ParseAll(document);
        return config;
    }

    /// <summary>Validates one extension section the way that extension's LocalConfig does (section name e.g. "mysql").</summary>
    public static void ValidateExtensionSection(CedarNode document, string section, Problems problems)
    {
        var config = new CedarConfig(document.First("cb_config"), problems);
        config.CheckExtensionSection(section, config.Root?.Where ?? "cb_config");
    }

    // ----- reporting -----

    private void Error(string resource, params object[] args) => _problems.Error(resource, args);
    private void Warn(string resource, params object[] args) => _problems.Warning(resource, args);

    // ----- typed readers (Cedar's readString/readInteger/readBoolean + property setters) -----

    private string? Choice(CedarNode section, string name, string[] allowed)
    {
        var v = section.Value(name);
        if (v != null && !allowed.Contains(v, StringComparer.Ordinal))
        {
            Error("Import.BadChoice", section.PathOf(name), v, string.Join(", ", allowed));
            return null;
        }
        return v;
    }

    private string? Absolute(CedarNode section, string name)
    {
        var v = section.Value(name);
        if (v != null && !v.StartsWith('/'))
        {
            Error("Import.NotAbsolute", section.PathOf(name), v);
            return null;
        }
        return v;
    }

    private int? Integer(CedarNode section, string name, int min, string describe)
    {
        var v = section.Value(name);
        if (v == null) return null;
        if (!TryPythonInt(v, out var n) || n < min)
        {
            Error("Import.BadInteger", section.PathOf(name), v, describe);
            return null;
        }
        return n;
    }

    private bool? Boolean(CedarNode section, string name)
    {
        var v = section.Value(name);
        if (v == null) return null;
        if (v is "Y" or "y") return true;
        if (v is "N" or "n") return false;
        Error("Import.BadBoolean", section.PathOf(name), v);
        return null;
    }

    private List<string>? ActionList(CedarNode section, string name)
    {
        var v = section.Value(name);
        if (v == null) return null;
        var list = v.Split(',').Select(s => s.Trim(PythonSpace)).Where(s => s.Length > 0).ToList();
        foreach (var a in list.Where(a => !ActionName.IsMatch(a)))
            Error("Import.BadActionName", section.PathOf(name), a);
        return list;
    }

    private void Pattern(CedarNode where, string pattern)
    {
        try
        {
            _ = new Regex(DotNetPattern(pattern));
        }
        catch (ArgumentException e)
        {
            Error("Import.BadRegex", where.Where, pattern, e.Message);
        }
    }

    /// <summary>Python's regular expressions in .NET's dialect (named groups).</summary>
    public static string DotNetPattern(string python) =>
        Regex.Replace(python.Replace("(?P<", "(?<"), @"\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)", @"\k<$1>");

    internal static readonly char[] PythonSpace = { ' ', '\t', '\n', '\r', '\f', '\v' };

    /// <summary>Python's int(text): surrounding white space, a sign, digits with single underscores between them.</summary>
    public static bool TryPythonInt(string text, out int value)
    {
        value = 0;
        var s = text.Trim(PythonSpace);
        if (!Regex.IsMatch(s, @"^[+-]?[0-9](_?[0-9])*$")) return false;
        return int.TryParse(s.Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Python's float(text).</summary>
    public static bool TryPythonFloat(string text, out double value)
    {
        var s = text.Trim(PythonSpace).Replace("_", "");
        var lower = s.ToLowerInvariant().TrimStart('+', '-');
        if (lower is "inf" or "infinity" or "nan")
        {
            value = lower == "nan" ? double.NaN : (s.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity);
            return true;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && !s.Contains(',') && s.Length > 0 && (char.IsDigit(s[^1]) || s[^1] == '.');
    }

    /// <summary>Cedar's byte quantity: a number ≥ 0, optionally followed by KB, MB or GB.</summary>
    public static bool TryByteQuantity(string text, out string normalized)
    {
        var s = text.Trim(PythonSpace);
        var unit = "";
        foreach (var u in new[] { "KB", "MB", "GB" })
            if (s.EndsWith(u, StringComparison.Ordinal))
            {
                unit = u;
                s = s[..s.LastIndexOf(u, StringComparison.Ordinal)].Trim(PythonSpace);
                break;
            }
        normalized = unit.Length == 0 ? s : s + " " + unit;
        return TryPythonFloat(s, out var n) && n >= 0 && !double.IsNaN(n) && !double.IsInfinity(n);
    }

    // ----- the document -----

    private void ParseAll(CedarNode document)
    {
        if (Root == null)
        {
            var other = document.Children.FirstOrDefault();
            if (other != null) Error("Import.WrongRoot", other.Where, other.Name);
            else Error("Import.NoAction", "cb_config");
            return;
        }
        Unknown(Root, "reference", "extensions", "options", "peers", "collect", "stage", "store", "purge",
            "sysinfo", "mysql", "postgresql", "subversion", "mbox", "encrypt", "split", "capacity", "amazons3");

        var reference = Root.First("reference");
        if (reference != null) Unknown(reference, "author", "revision", "description", "generator");

        Extensions = Root.First("extensions");
        if (Extensions != null) ParseExtensions(Extensions);
        Options = Root.First("options");
        if (Options != null) ParseOptions(Options);
        PeersSection = Root.First("peers");
        if (PeersSection != null) Peers = ParsePeerList(PeersSection);
        Collect = Root.First("collect");
        if (Collect != null) ParseCollect(Collect);
        Stage = Root.First("stage");
        if (Stage != null)
        {
            Unknown(Stage, "staging_dir", "peer");
            StagingDir = Stage.Value("staging_dir");
            if (StagingDir != null && !StagingDir.StartsWith('/'))
            {
                Error("Import.NotAbsolute", Stage.PathOf("staging_dir"), StagingDir);
                StagingDir = null;
            }
            StagePeers = ParsePeerList(Stage);
        }
        Store = Root.First("store");
        if (Store != null) ParseStore(Store);
        Purge = Root.First("purge");
        if (Purge != null) ParsePurge(Purge);

        if (_problems.HasErrors) return; // Cedar stops at the first parse error; validation comes after.

        // Config.validate(): document-level rules, then each section.
        if (Collect == null && Stage == null && Store == null && Purge == null)
        {
            Error("Import.NoAction", Root.Where);
            return;
        }
        if (Options == null)
        {
            Error("Import.NoOptions", Root.Where);
            return;
        }
        ValidateExtensions();
        ValidateOptions();
        if (Peers != null) ValidatePeerList(PeersSection!, Peers);
        ValidateCollect();
        if (Stage != null)
        {
            if (StagingDir == null) Error("Import.Missing", Stage.Where, "staging_dir");
            if (PeersSection == null || StagePeers!.Count > 0) ValidatePeerList(Stage, StagePeers!);
        }
        ValidateStore();
        foreach (var (node, path, days) in PurgeDirs)
        {
            if (path == null) Error("Import.Missing", node.Where, "abs_path");
            if (days == null) Error("Import.Missing", node.Where, "retain_days");
        }

        // Cedar validates an extension's own section when the extension runs; a configured one must be valid.
        if (!_problems.HasErrors)
            foreach (var ext in ExtensionActions)
                if (ext.Module != null && KnownModules.TryGetValue(ext.Module, out var section) && section != "sysinfo")
                    CheckExtensionSection(section, ext.Node.Where);
    }

    private void Unknown(CedarNode section, params string[] known)
    {
        foreach (var child in section.Children.Where(c => !known.Contains(c.Name)))
            Warn("Import.UnknownElement", section.Where, child.Name);
    }

    private void ParseExtensions(CedarNode section)
    {
        Unknown(section, "order_mode", "action");
        OrderMode = Choice(section, "order_mode", OrderModes);
        foreach (var a in section.All("action"))
        {
            Unknown(a, "name", "module", "function", "index", "depends");
            var name = a.Value("name");
            if (name != null && !ActionName.IsMatch(name)) { Error("Import.BadActionName", a.PathOf("name"), name); name = null; }
            var module = a.Value("module");
            if (module != null && !ModuleName.IsMatch(module)) { Error("Import.BadIdentifier", a.PathOf("module"), module, "module"); module = null; }
            var function = a.Value("function");
            if (function != null && !FunctionName.IsMatch(function)) { Error("Import.BadIdentifier", a.PathOf("function"), function, "function"); function = null; }
            var index = Integer(a, "index", 0, "a whole number ≥ 0");
            var depends = a.First("depends");
            List<string>? before = null, after = null;
            if (depends != null)
            {
                Unknown(depends, "run_before", "run_after");
                before = ActionList(depends, "run_before");
                after = ActionList(depends, "run_after");
            }
            ExtensionActions.Add(new CedarExtension(a, name, module, function, index, depends != null, before, after));
        }
    }

    private void ValidateExtensions()
    {
        if (Extensions == null) return;
        var names = new List<string>();
        foreach (var a in ExtensionActions)
        {
            if (a.Name == null) { Error("Import.Missing", a.Node.Where, "name"); continue; }
            names.Add(a.Name);
            if (a.Module == null) Error("Import.Missing", a.Node.Where, "module");
            if (a.Function == null) Error("Import.Missing", a.Node.Where, "function");
            if (OrderMode is null or "index")
            {
                if (a.Index == null) Error("Import.OrderNeeds", a.Node.Where, a.Name, "index", OrderMode ?? "index");
            }
            else if (!a.HasDepends) Error("Import.OrderNeeds", a.Node.Where, a.Name, "depends", OrderMode);
        }
        foreach (var dup in names.GroupBy(n => n).Where(g => g.Count() > 1))
            Error("Import.Duplicate", Extensions.Where, "extension name", dup.Key);
    }

    private void ParseOptions(CedarNode o)
    {
        Unknown(o, "starting_day", "working_dir", "backup_user", "backup_group", "rcp_command", "rsh_command",
            "cback_command", "managed_actions", "override", "pre_action_hook", "post_action_hook");
        StartingDay = o.Value("starting_day");
        if (StartingDay != null && !Days.Contains(StartingDay))
        {
            Error("Import.BadChoice", o.PathOf("starting_day"), StartingDay, string.Join(", ", Days));
            StartingDay = null;
        }
        WorkingDir = o.Value("working_dir");
        if (WorkingDir != null && !WorkingDir.StartsWith('/')) { Error("Import.NotAbsolute", o.PathOf("working_dir"), WorkingDir); WorkingDir = null; }
        BackupUser = o.Value("backup_user");
        BackupGroup = o.Value("backup_group");
        RcpCommand = o.Value("rcp_command");
        RshCommand = o.Value("rsh_command");
        CbackCommand = o.Value("cback_command");
        foreach (var ov in o.All("override"))
        {
            Unknown(ov, "command", "abs_path");
            Overrides.Add(new CedarOverride(ov, ov.Value("command"), Absolute(ov, "abs_path")));
        }
        foreach (var (tag, before) in new[] { ("pre_action_hook", true), ("post_action_hook", false) })
            foreach (var h in o.All(tag))
            {
                Unknown(h, "action", "command");
                var action = h.Value("action");
                if (action != null && !ActionName.IsMatch(action)) { Error("Import.BadActionName", h.PathOf("action"), action); action = null; }
                Hooks.Add(new CedarHook(h, before, action, h.Value("command")));
            }
        ManagedActions = ActionList(o, "managed_actions");
    }

    private void ValidateOptions()
    {
        var o = Options!;
        if (StartingDay == null) Error("Import.Missing", o.Where, "starting_day");
        else if (WorkingDir == null) Error("Import.Missing", o.Where, "working_dir");
        else if (BackupUser == null) Error("Import.Missing", o.Where, "backup_user");
        else if (BackupGroup == null) Error("Import.Missing", o.Where, "backup_group");
        else if (RcpCommand == null) Error("Import.Missing", o.Where, "rcp_command");
        // Cedar accepts overrides and hooks with a part missing (they never apply); the writer warns about them.
    }

    private List<CedarPeer> ParsePeerList(CedarNode section)
    {
        var list = new List<CedarPeer>();
        foreach (var p in section.All("peer"))
        {
            Unknown(p, "name", "type", "collect_dir", "ignore_failures", "backup_user", "rcp_command", "rsh_command",
                "cback_command", "managed", "managed_actions");
            var type = p.Value("type");
            if (type is not ("local" or "remote"))
            {
                Warn("Import.PeerTypeIgnored", p.Where, p.Value("name") ?? "", type ?? "");
                continue;
            }
            var remote = type == "remote";
            list.Add(new CedarPeer
            {
                Node = p,
                Remote = remote,
                Name = p.Value("name"),
                CollectDir = Absolute(p, "collect_dir"),
                IgnoreFailures = Choice(p, "ignore_failures", FailureModes),
                RemoteUser = remote ? p.Value("backup_user") : null,
                RcpCommand = remote ? p.Value("rcp_command") : null,
                RshCommand = remote ? p.Value("rsh_command") : null,
                CbackCommand = remote ? p.Value("cback_command") : null,
                Managed = remote ? Boolean(p, "managed") : null,
                ManagedActions = remote ? ActionList(p, "managed_actions") : null,
            });
        }
        return list;
    }

    private void ValidatePeerList(CedarNode section, List<CedarPeer> peers)
    {
        if (peers.Count == 0)
        {
            Error("Import.NoPeers", section.Where);
            return;
        }
        var names = new List<string>();
        foreach (var p in peers.Where(p => !p.Remote).Concat(peers.Where(p => p.Remote)))
        {
            if (p.Name == null) { Error("Import.Missing", p.Node.Where, "name"); continue; }
            names.Add(p.Name);
            if (p.CollectDir == null)
            {
                if (p.Node.Value("collect_dir") == null) Error("Import.Missing", p.Node.Where, "collect_dir");
                continue;
            }
            if (!p.Remote) continue;
            if (BackupUser == null && p.RemoteUser == null) Error("Import.PeerNeeds", p.Node.Where, p.Name, "backup_user");
            if (RcpCommand == null && p.RcpCommand == null) Error("Import.PeerNeeds", p.Node.Where, p.Name, "rcp_command");
            if (p.Managed == true)
            {
                if (RshCommand == null && p.RshCommand == null) Error("Import.PeerNeeds", p.Node.Where, p.Name, "rsh_command");
                if (CbackCommand == null && p.CbackCommand == null) Error("Import.PeerNeeds", p.Node.Where, p.Name, "cback_command");
                if ((ManagedActions == null || ManagedActions.Count == 0) && (p.ManagedActions == null || p.ManagedActions.Count == 0))
                    Error("Import.PeerNeeds", p.Node.Where, p.Name, "managed_actions");
            }
        }
        foreach (var dup in names.GroupBy(n => n).Where(g => g.Count() > 1))
            Error("Import.Duplicate", section.Where, "peer name", dup.Key);
    }

    private void ParseCollect(CedarNode c)
    {
        Unknown(c, "collect_dir", "collect_mode", "archive_mode", "ignore_file", "exclude", "file", "dir");
        CollectDir = Absolute(c, "collect_dir");
        CollectMode = Choice(c, "collect_mode", CollectModes);
        ArchiveMode = Choice(c, "archive_mode", ArchiveModes);
        IgnoreFile = c.Value("ignore_file");
        var exclude = c.First("exclude");
        if (exclude != null)
        {
            Unknown(exclude, "abs_path", "rel_path", "pattern");
            foreach (var p in exclude.Values("abs_path"))
                if (p.StartsWith('/')) ExcludePaths.Add(p); else Error("Import.NotAbsolute", exclude.PathOf("abs_path"), p);
            foreach (var p in exclude.Values("pattern")) { Pattern(exclude.First("pattern")!, p); ExcludePatterns.Add(p); }
        }
        foreach (var f in c.All("file"))
        {
            Unknown(f, "abs_path", "mode", "collect_mode", "archive_mode");
            CollectItems.Add(new CedarCollectItem
            {
                Node = f,
                AbsolutePath = Absolute(f, "abs_path"),
                CollectMode = f.Value("mode") != null ? Choice(f, "mode", CollectModes) : Choice(f, "collect_mode", CollectModes),
                ArchiveMode = Choice(f, "archive_mode", ArchiveModes),
            });
        }
        foreach (var d in c.All("dir"))
        {
            Unknown(d, "abs_path", "mode", "collect_mode", "archive_mode", "ignore_file", "link_depth", "dereference",
                "recursion_level", "exclude");
            var item = new CedarCollectItem
            {
                Node = d,
                IsDirectory = true,
                AbsolutePath = Absolute(d, "abs_path"),
                CollectMode = d.Value("mode") != null ? Choice(d, "mode", CollectModes) : Choice(d, "collect_mode", CollectModes),
                ArchiveMode = Choice(d, "archive_mode", ArchiveModes),
                IgnoreFile = d.Value("ignore_file"),
                LinkDepth = Integer(d, "link_depth", 0, "a whole number ≥ 0"),
                Dereference = Boolean(d, "dereference"),
                RecursionLevel = Integer(d, "recursion_level", int.MinValue, "a whole number"),
            };
            var ex = d.First("exclude");
            if (ex != null)
            {
                Unknown(ex, "abs_path", "rel_path", "pattern");
                foreach (var p in ex.Values("abs_path"))
                    if (p.StartsWith('/')) item.ExcludePaths.Add(p); else Error("Import.NotAbsolute", ex.PathOf("abs_path"), p);
                item.RelativeExcludePaths.AddRange(ex.Values("rel_path"));
                foreach (var p in ex.Values("pattern")) { Pattern(ex.First("pattern")!, p); item.ExcludePatterns.Add(p); }
            }
            CollectItems.Add(item);
        }
    }

    private void ValidateCollect()
    {
        if (Collect == null) return;
        var c = Collect;
        if (CollectDir == null) { Error("Import.Missing", c.Where, "collect_dir"); return; }
        foreach (var item in CollectItems)
        {
            if (item.AbsolutePath == null) { Error("Import.Missing", item.Node.Where, "abs_path"); continue; }
            if (CollectMode == null && item.CollectMode == null) Error("Import.NoDefault", item.Node.Where, "collect_mode", "collect");
            if (ArchiveMode == null && item.ArchiveMode == null) Error("Import.NoDefault", item.Node.Where, "archive_mode", "collect");
            if (!item.IsDirectory) continue;
            if (IgnoreFile == null && item.IgnoreFile == null) Error("Import.NoDefault", item.Node.Where, "ignore_file", "collect");
            if ((item.LinkDepth ?? 0) < 1 && item.Dereference == true) Error("Import.DereferenceWithoutDepth", item.Node.Where);
        }
    }

    private void ParseStore(CedarNode s)
    {
        Unknown(s, "source_dir", "media_type", "device_type", "target_device", "target_scsi_id", "drive_speed", "check_data",
            "check_media", "warn_midnite", "no_eject", "blank_behavior", "refresh_media_delay", "eject_delay");
        SourceDir = Absolute(s, "source_dir");
        MediaType = Choice(s, "media_type", CdMedia.Concat(DvdMedia).ToArray());
        DeviceType = Choice(s, "device_type", DeviceTypes);
        TargetDevice = Absolute(s, "target_device");
        ScsiIdValue = s.Value("target_scsi_id");
        if (ScsiIdValue != null && !ScsiId.IsMatch(ScsiIdValue) && !ScsiIdMac.IsMatch(ScsiIdValue))
        {
            Error("Import.BadScsiId", s.PathOf("target_scsi_id"), ScsiIdValue);
            ScsiIdValue = null;
        }
        DriveSpeed = Integer(s, "drive_speed", 1, "a whole number ≥ 1");
        CheckData = Boolean(s, "check_data");
        CheckMedia = Boolean(s, "check_media");
        WarnMidnite = Boolean(s, "warn_midnite");
        NoEject = Boolean(s, "no_eject");
        BlankBehavior = s.First("blank_behavior");
        if (BlankBehavior != null)
        {
            Unknown(BlankBehavior, "mode", "factor");
            BlankMode = Choice(BlankBehavior, "mode", BlankModes);
            BlankFactor = BlankBehavior.Value("factor");
            if (BlankFactor != null && (!TryPythonFloat(BlankFactor, out var f) || f < 0))
            {
                Error("Import.BadNumber", BlankBehavior.PathOf("factor"), BlankFactor, "a number ≥ 0");
                BlankFactor = null;
            }
        }
        RefreshMediaDelay = Integer(s, "refresh_media_delay", 0, "a whole number ≥ 0");
        EjectDelay = Integer(s, "eject_delay", 0, "a whole number ≥ 0");
    }

    private void ValidateStore()
    {
        if (Store == null) return;
        var s = Store;
        if (SourceDir == null) { Error("Import.Missing", s.Where, "source_dir"); return; }
        if (MediaType == null) { Error("Import.Missing", s.Where, "media_type"); return; }
        if (TargetDevice == null) { Error("Import.Missing", s.Where, "target_device"); return; }
        var device = DeviceType ?? "cdwriter";
        if ((device == "cdwriter" && !CdMedia.Contains(MediaType)) || (device == "dvdwriter" && !DvdMedia.Contains(MediaType)))
            Error("Import.MediaMismatch", s.PathOf("media_type"), MediaType, device);
        if (BlankBehavior != null && BlankMode == null && BlankFactor == null)
            Error("Import.BlankIncomplete", BlankBehavior.Where);
    }

    private void ParsePurge(CedarNode p)
    {
        Unknown(p, "dir");
        foreach (var d in p.All("dir"))
        {
            Unknown(d, "abs_path", "retain_days");
            PurgeDirs.Add((d, Absolute(d, "abs_path"), Integer(d, "retain_days", 0, "a whole number ≥ 0")));
        }
    }

    // ----- extension sections (each extension's LocalConfig) -----

    private void CheckExtensionSection(string name, string configuredAt)
    {
        var section = Root?.First(name);
        if (section == null)
        {
            Error("Import.ExtensionSectionMissing", configuredAt, name);
            return;
        }
        switch (name)
        {
            case "mysql":
            case "postgresql":
            {
                if (name == "mysql") Unknown(section, "user", "password", "compress_mode", "all", "database");
                else Unknown(section, "user", "compress_mode", "all", "database");
                var compress = Choice(section, "compress_mode", CompressModes);
                var all = Boolean(section, "all");
                if (_problems.HasErrors) return;
                var databases = section.Values("database");
                if (compress == null) Error("Import.Missing", section.Where, "compress_mode");
                else if (all == true && databases.Count > 0) Error("Import.DatabasesWithAll", section.Where);
                else if (all != true && databases.Count == 0) Error("Import.NoDatabases", section.Where);
                break;
            }
            case "subversion":
            case "mbox":
            {
                var svn = name == "subversion";
                var fileTag = svn ? "repository" : "file";
                var dirTag = svn ? "repository_dir" : "dir";
                Unknown(section, "collect_mode", "compress_mode", fileTag, dirTag);
                var collect = Choice(section, "collect_mode", CollectModes);
                var compress = Choice(section, "compress_mode", CompressModes);
                var items = new List<(CedarNode Node, string? Path, string? Collect, string? Compress)>();
                foreach (var tag in new[] { fileTag, dirTag })
                    foreach (var e in section.All(tag))
                    {
                        if (svn || tag == dirTag) Unknown(e, svn ? new[] { "type", "abs_path", "collect_mode", "compress_mode", "exclude" }
                            : new[] { "abs_path", "collect_mode", "compress_mode", "exclude" });
                        else Unknown(e, "abs_path", "collect_mode", "compress_mode");
                        if (tag == dirTag && e.First("exclude") is { } ex)
                        {
                            Unknown(ex, "rel_path", "pattern");
                            foreach (var p in ex.Values("pattern")) Pattern(ex.First("pattern")!, p);
                        }
                        items.Add((e, Absolute(e, "abs_path"), Choice(e, "collect_mode", CollectModes), Choice(e, "compress_mode", CompressModes)));
                    }
                if (_problems.HasErrors) return;
                if (items.Count == 0) { Error("Import.NeedsOne", section.Where, fileTag, dirTag); return; }
                foreach (var (node, path, c, z) in items)
                {
                    if (path == null) Error("Import.Missing", node.Where, "abs_path");
                    else if (collect == null && c == null) Error("Import.NoDefault", node.Where, "collect_mode", name);
                    else if (compress == null && z == null) Error("Import.NoDefault", node.Where, "compress_mode", name);
                }
                break;
            }
            case "encrypt":
            {
                Unknown(section, "encrypt_mode", "encrypt_target");
                var mode = Choice(section, "encrypt_mode", EncryptModes);
                if (_problems.HasErrors) return;
                if (mode == null) Error("Import.Missing", section.Where, "encrypt_mode");
                else if (section.Value("encrypt_target") == null) Error("Import.Missing", section.Where, "encrypt_target");
                break;
            }
            case "split":
            {
                Unknown(section, "size_limit", "split_size");
                var limit = ByteQuantity(section, "size_limit");
                var size = ByteQuantity(section, "split_size");
                if (_problems.HasErrors) return;
                if (limit == null) Error("Import.Missing", section.Where, "size_limit");
                else if (size == null) Error("Import.Missing", section.Where, "split_size");
                break;
            }
            case "capacity":
            {
                Unknown(section, "max_percentage", "min_bytes");
                var pct = section.Value("max_percentage");
                if (pct != null && (!TryPythonFloat(pct, out var f) || f < 0 || f > 100 || double.IsNaN(f)))
                {
                    Error("Import.BadNumber", section.PathOf("max_percentage"), pct, "a percentage from 0 to 100");
                    return;
                }
                var min = ByteQuantity(section, "min_bytes");
                if (_problems.HasErrors) return;
                if ((pct == null) == (min == null)) Error("Import.CapacityOneOf", section.Where);
                break;
            }
            case "amazons3":
            {
                Unknown(section, "warn_midnite", "s3_bucket", "encrypt", "full_size_limit", "incr_size_limit");
                Boolean(section, "warn_midnite");
                ByteQuantity(section, "full_size_limit");
                ByteQuantity(section, "incr_size_limit");
                if (_problems.HasErrors) return;
                if (section.Value("s3_bucket") == null) Error("Import.Missing", section.Where, "s3_bucket");
                break;
            }
        }
    }

    private string? ByteQuantity(CedarNode section, string name)
    {
        var v = section.Value(name);
        if (v == null) return null;
        if (!TryByteQuantity(v, out var normalized))
        {
            Error("Import.BadNumber", section.PathOf(name), v, "a byte quantity (a number ≥ 0, optionally followed by KB, MB or GB)");
            return null;
        }
        return normalized;
    }
}
