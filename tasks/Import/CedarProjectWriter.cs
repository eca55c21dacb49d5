using System.Security;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Import;

/// <summary>
/// Turns a validated cback3.conf into backup.proj and peers/*.props. Everything in the file is
/// copied as text; nothing named in it is run. Whatever has no BackupBuild equivalent is a coded
/// warning naming the element.
/// </summary>
public sealed class CedarProjectWriter
{
    private static readonly string[] CoreActions = { "collect", "stage", "store", "purge", "rebuild", "validate", "initialize" };
    private static readonly string[] ManagedCore = { "collect", "stage", "store", "purge" };

    /// <summary>Cedar's overridable commands that map onto a BackupBuild property.</summary>
    private static readonly Dictionary<string, string> OverrideProperties = new()
    {
        ["mysqldump"] = "MysqlDumpProgram",
        ["pg_dump"] = "PostgresqlDumpProgram",
        ["pg_dumpall"] = "PostgresqlDumpAllProgram",
        ["svnadmin"] = "SvnadminPath",
        ["svnlook"] = "SvnlookPath",
        ["grepmail"] = "GrepmailPath",
        ["gpg"] = "EncryptGpgPath",
    };

    private readonly CedarConfig _c;
    private readonly Problems _problems;
    private readonly List<(string Name, string Value, string? Comment)> _properties = new();
    private readonly List<string> _thisMachine = new();
    private int _hookNumber;

    public CedarProjectWriter(CedarConfig config, Problems problems)
    {
        _c = config;
        _problems = problems;
    }

    /// <summary>The files to write, relative to the output folder.</summary>
    public SortedDictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

    public string ThisPeer { get; private set; } = "";

    public void Build(string source, string backupBuildRoot, string? thisPeer, string hostName)
    {
        var peers = ChoosePeers();
        ThisPeer = !string.IsNullOrEmpty(thisPeer) ? thisPeer
            : peers.FirstOrDefault(p => !p.Remote && _c.CollectDir != null && Values.Trim(p.CollectDir!) == Values.Trim(_c.CollectDir))?.Name
              ?? hostName;

        Options();
        CollectProperties();
        if (_c.StagingDir != null) Prop("StagingDir", _c.StagingDir);
        StoreProperties();
        CollectItems();
        PurgeItems();
        Extensions();

        var peerFiles = new Dictionary<string, StringBuilder>();
        foreach (var p in peers)
        {
            if (!SafeName(p.Name!)) { _problems.Error("Import.BadPeerName", p.Node.Where, p.Name!); continue; }
            peerFiles[p.Name!] = new StringBuilder().Append("    ").Append(PeerItem(p)).Append('\n');
        }
        if (!SafeName(ThisPeer)) _problems.Error("Import.BadPeerName", "ImportPeerName", ThisPeer);

        foreach (var (name, items) in peerFiles)
        {
            var mine = name == ThisPeer;
            Files["peers/" + name + ".props"] = PeerFile(name, items.ToString(), mine ? _thisMachine : null);
        }
        if (!peerFiles.ContainsKey(ThisPeer))
            Files["peers/" + ThisPeer + ".props"] = PeerFile(ThisPeer, null, _thisMachine);

        Files["backup.proj"] = Project(source, backupBuildRoot);
    }

    private static bool SafeName(string name) =>
        name.Length > 0 && name[0] != '.' && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.');

    // ----- options -----

    private void Options()
    {
        var o = _c.Options!;
        Prop("BackupPeer", ThisPeer, "this machine in the pool; remove when every machine shares this project", conditional: true);
        Prop("StartingDay", _c.StartingDay!);
        Prop("WorkingDir", _c.WorkingDir!);
        Prop("BackupUser", _c.BackupUser!);
        Prop("BackupGroup", _c.BackupGroup!);
        Prop("RemoteUser", _c.BackupUser!, "Cedar's default user on remote peers is backup_user");
        var copy = MapCopy(_c.RcpCommand!, o.PathOf("rcp_command"));
        if (copy != null) Prop("RemoteCopy", copy);
        if (_c.RshCommand != null)
        {
            var shell = MapShell(_c.RshCommand, o.PathOf("rsh_command"));
            if (shell != null) Prop("RemoteShell", shell);
        }
        if (_c.CbackCommand != null)
            NoEquivalent(o.PathOf("cback_command"), _c.CbackCommand, Hint("Import.Hint.CbackCommand"));
        if (_c.ManagedActions != null)
        {
            var actions = ManagedList(_c.ManagedActions, o.PathOf("managed_actions"));
            if (actions.Length > 0) Prop("ManagedActions", actions);
        }
        foreach (var ov in _c.Overrides)
        {
            if (ov.Command != null && ov.AbsolutePath != null && OverrideProperties.TryGetValue(ov.Command, out var property))
                Prop(property, ov.AbsolutePath, "Cedar override of " + ov.Command);
            else
                NoEquivalent(ov.Node.Where, (ov.Command ?? "") + " → " + (ov.AbsolutePath ?? ""), Hint("Import.Hint.Override"));
        }
        foreach (var h in _c.Hooks)
        {
            if (h.Action == null || h.Command == null)
            {
                NoEquivalent(h.Node.Where, h.Command ?? h.Action ?? "", Hint("Import.Hint.IncompleteHook"));
                continue;
            }
            if (!CoreActions.Contains(h.Action))
            {
                _problems.Warning("Import.HookNotImported", h.Node.Where, h.Action, h.Command);
                continue;
            }
            _hookNumber++;
            _thisMachine.Add(Item("ActionHook", $"cedar-{(h.Before ? "pre" : "post")}-{h.Action}-{_hookNumber}",
                ("Action", h.Action == "rebuild" ? "RebuildMedium" : h.Action), ("Phase", h.Before ? "before" : "after"), ("Command", h.Command)));
        }
    }

    private string? MapCopy(string command, string where)
    {
        var words = Split(command);
        var program = words.Length > 0 ? Path.GetFileName(words[0]) : "";
        if (program == "rsync") return command;
        if (program == "scp")
        {
            var dropped = words.Skip(1).Where(w => w != "-O").ToList();
            if (dropped.Count > 0)
                _problems.Warning("Import.Changed", where, command, "scp -O", Hint("Import.Hint.Scp", string.Join(' ', dropped)));
            return "scp -O";
        }
        NoEquivalent(where, command, Hint("Import.Hint.Copy"));
        return null;
    }

    private string? MapShell(string command, string where)
    {
        var words = Split(command);
        if (words.Length > 0 && Path.GetFileName(words[0]) == "ssh") return command;
        NoEquivalent(where, command, Hint("Import.Hint.Shell"));
        return null;
    }

    private string ManagedList(List<string> actions, string where)
    {
        foreach (var a in actions.Where(a => !ManagedCore.Contains(a)))
            NoEquivalent(where, a, Hint("Import.Hint.ManagedAction"));
        return string.Join(";", actions.Where(a => ManagedCore.Contains(a)));
    }

    // Cedar splits commands on spaces, keeping double-quoted words together.
    private static string[] Split(string command) =>
        System.Text.RegularExpressions.Regex.Matches(command, "[^ \"]+|\"[^\"]+\"").Select(m => m.Value.Trim('"')).ToArray();

    // ----- peers -----

    private List<CedarPeer> ChoosePeers()
    {
        if (_c.StagePeers is { Count: > 0 })
        {
            foreach (var p in _c.Peers ?? new())
                if (!_c.StagePeers.Any(s => s.Name == p.Name))
                    NoEquivalent(p.Node.Where, p.Name ?? "", Hint("Import.Hint.PeerNotStaged"));
            return _c.StagePeers;
        }
        return _c.Peers ?? new();
    }

    private string PeerItem(CedarPeer p)
    {
        var meta = new List<(string, string)> { ("Type", p.Remote ? "remote" : "local"), ("CollectDir", p.CollectDir!) };
        if (p.IgnoreFailures != null) meta.Add(("IgnoreFailures", p.IgnoreFailures));
        if (p.Remote)
        {
            if (p.RemoteUser != null) meta.Add(("User", p.RemoteUser));
            if (p.RcpCommand != null && MapCopy(p.RcpCommand, p.Node.PathOf("rcp_command")) is { } copy) meta.Add(("RemoteCopy", copy));
            if (p.RshCommand != null && MapShell(p.RshCommand, p.Node.PathOf("rsh_command")) is { } shell) meta.Add(("RemoteShell", shell));
            if (p.CbackCommand != null) NoEquivalent(p.Node.PathOf("cback_command"), p.CbackCommand, Hint("Import.Hint.CbackCommand"));
            if (p.Managed == true) meta.Add(("Managed", "true"));
            if (p.ManagedActions != null)
            {
                var actions = ManagedList(p.ManagedActions, p.Node.PathOf("managed_actions"));
                if (actions.Length > 0) meta.Add(("ManagedActions", actions));
            }
        }
        return Item("Peer", p.Name!, meta.ToArray());
    }

    // ----- collect, store, purge -----

    private void CollectProperties()
    {
        if (_c.Collect == null) return;
        Prop("CollectDir", _c.CollectDir!);
        if (_c.CollectMode != null) Prop("CollectMode", _c.CollectMode);
        if (_c.ArchiveMode != null) Prop("ArchiveMode", _c.ArchiveMode);
        if (_c.IgnoreFile != null) Prop("IgnoreFile", _c.IgnoreFile);
        if (_c.ExcludePaths.Count > 0) Prop("CollectExcludePaths", string.Join(";", _c.ExcludePaths.Select(Escape)), escaped: true);
        if (_c.ExcludePatterns.Count > 0)
            Prop("CollectExcludePatterns", string.Join(";", _c.ExcludePatterns.Select(p => Escape(CedarConfig.DotNetPattern(p)))), escaped: true);
        foreach (var rel in _c.Collect.First("exclude")?.All("rel_path") ?? Enumerable.Empty<CedarNode>())
            NoEquivalent(rel.Where, rel.Text ?? "", Hint("Import.Hint.CollectRelPath"));
        if (_c.CollectItems.Count == 0)
            _problems.Warning("Import.NothingToCollect", _c.Collect.Where);
    }

    private void CollectItems()
    {
        foreach (var i in _c.CollectItems)
        {
            var meta = new List<(string, string)>();
            if (i.CollectMode != null) meta.Add(("CollectMode", i.CollectMode));
            if (i.ArchiveMode != null) meta.Add(("ArchiveMode", i.ArchiveMode));
            if (!i.IsDirectory)
            {
                _thisMachine.Add(Item("CollectFile", i.AbsolutePath!, meta.ToArray()));
                continue;
            }
            if (i.IgnoreFile != null) meta.Add(("IgnoreFile", i.IgnoreFile));
            // Cedar joins rel_path to the folder with os.path.join: an absolute-looking one stays absolute.
            var absolute = i.ExcludePaths.Concat(i.RelativeExcludePaths.Where(r => r.StartsWith('/'))).ToList();
            var relative = i.RelativeExcludePaths.Where(r => !r.StartsWith('/')).ToList();
            if (absolute.Count > 0) meta.Add(("ExcludePaths", string.Join(";", absolute.Select(Escape))));
            if (relative.Count > 0) meta.Add(("RelativeExcludePaths", string.Join(";", relative.Select(Escape))));
            if (i.ExcludePatterns.Count > 0)
                meta.Add(("ExcludePatterns", string.Join(";", i.ExcludePatterns.Select(p => Escape(CedarConfig.DotNetPattern(p))))));
            if (i.LinkDepth is > 0) meta.Add(("LinkDepth", i.LinkDepth.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (i.Dereference == true) meta.Add(("Dereference", "true"));
            if (i.RecursionLevel is { } r && r != 0) meta.Add(("RecursionLevel", r.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            _thisMachine.Add(ItemEscaped("CollectDirectory", i.AbsolutePath!, meta.ToArray(),
                escapedNames: new[] { "ExcludePaths", "RelativeExcludePaths", "ExcludePatterns" }));
        }
    }

    private void StoreProperties()
    {
        if (_c.Store == null) return;
        var s = _c.Store;
        Prop("StoreMediaType", _c.MediaType!);
        Prop("StoreDevice", _c.TargetDevice!);
        if (_c.SourceDir != null && _c.StagingDir != null && Values.Trim(_c.SourceDir) != Values.Trim(_c.StagingDir))
            _problems.Warning("Import.Changed", s.PathOf("source_dir"), _c.SourceDir, "StagingDir", Hint("Import.Hint.SourceDir"));
        if (_c.ScsiIdValue != null) NoEquivalent(s.PathOf("target_scsi_id"), _c.ScsiIdValue, Hint("Import.Hint.ScsiId"));
        if (_c.DriveSpeed != null) Prop("StoreDriveSpeed", _c.DriveSpeed.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_c.CheckData != null) Prop("StoreCheckData", _c.CheckData.Value ? "true" : "false");
        if (_c.CheckMedia != null) Prop("StoreCheckMedia", _c.CheckMedia.Value ? "true" : "false");
        if (_c.WarnMidnite != null) Prop("StoreWarnMidnight", _c.WarnMidnite.Value ? "true" : "false");
        if (_c.NoEject != null) Prop("StoreEject", _c.NoEject.Value ? "false" : "true");
        if (_c.RefreshMediaDelay != null) Prop("StoreRefreshMediaDelay", _c.RefreshMediaDelay.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_c.EjectDelay != null) Prop("StoreEjectDelay", _c.EjectDelay.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_c.BlankBehavior != null)
        {
            if (_c.BlankMode != null && _c.BlankFactor != null)
            {
                Prop("StoreBlankMode", _c.BlankMode);
                Prop("StoreBlankFactor", _c.BlankFactor.Trim(CedarConfig.PythonSpace));
            }
            else NoEquivalent(_c.BlankBehavior.Where, _c.BlankMode ?? _c.BlankFactor ?? "", Hint("Import.Hint.BlankHalf"));
        }
    }

    private void PurgeItems()
    {
        foreach (var (_, path, days) in _c.PurgeDirs)
            _thisMachine.Add(Item("PurgeDirectory", path!, ("RetainDays", days!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    // ----- extensions -----

    private void Extensions()
    {
        if (_c.Extensions == null) return;
        if (_c.ExtensionActions.Any(a => a.Index != null || a.HasDepends) || _c.OrderMode != null)
            _problems.Warning("Import.OrderNotImported", _c.Extensions.Where);
        var configured = new HashSet<string>();
        foreach (var a in _c.ExtensionActions)
        {
            if (a.Module == null || !CedarConfig.KnownModules.TryGetValue(a.Module, out var section))
            {
                _problems.Warning("Import.CustomExtension", a.Node.Where, a.Name ?? "", a.Module ?? "");
                continue;
            }
            configured.Add(section);
            var root = _c.Root!;
            var node = root.First(section);
            switch (section)
            {
                case "sysinfo": Prop("SysinfoEnabled", "true"); break;
                case "mysql":
                    if (node!.Value("user") is { } user) NoEquivalent(node.PathOf("user"), user, Hint("Import.Hint.MysqlUser"));
                    if (node.Value("password") != null) _problems.Warning("Import.SecretNotImported", node.PathOf("password"));
                    Prop("MysqlCompressMode", node.Value("compress_mode")!);
                    Databases("MysqlDatabase", node);
                    break;
                case "postgresql":
                    if (node!.Value("user") is { } pgUser) Prop("PostgresqlUser", pgUser);
                    Prop("PostgresqlCompressMode", node.Value("compress_mode")!);
                    Databases("PostgresqlDatabase", node);
                    break;
                case "subversion":
                    ModeProps(node!, "Subversion");
                    foreach (var r in node!.All("repository"))
                    {
                        if (r.Value("type") is { } type) NoEquivalent(r.PathOf("type"), type, Hint("Import.Hint.SvnType"));
                        _thisMachine.Add(Item("SubversionRepository", r.Value("abs_path")!, Modes(r)));
                    }
                    foreach (var d in node.All("repository_dir"))
                        NoEquivalent(d.Where, d.Value("abs_path") ?? "", Hint("Import.Hint.SvnDir"));
                    break;
                case "mbox":
                    ModeProps(node!, "Mbox");
                    foreach (var f in node!.All("file"))
                        _thisMachine.Add(Item("MboxFile", f.Value("abs_path")!, Modes(f)));
                    foreach (var d in node.All("dir"))
                    {
                        var meta = Modes(d).ToList();
                        var ex = d.First("exclude");
                        if (ex != null && ex.Values("rel_path") is { Count: > 0 } files) meta.Add(("ExcludeFiles", string.Join(";", files.Select(Escape))));
                        if (ex != null && ex.Values("pattern") is { Count: > 0 } pats)
                            meta.Add(("ExcludePatterns", string.Join(";", pats.Select(p => Escape(CedarConfig.DotNetPattern(p))))));
                        _thisMachine.Add(ItemEscaped("MboxDirectory", d.Value("abs_path")!, meta.ToArray(), new[] { "ExcludeFiles", "ExcludePatterns" }));
                    }
                    break;
                case "encrypt":
                    Prop("EncryptRecipient", node!.Value("encrypt_target")!);
                    break;
                case "split":
                    CedarConfig.TryByteQuantity(node!.Value("size_limit")!, out var limit);
                    CedarConfig.TryByteQuantity(node.Value("split_size")!, out var size);
                    Prop("SplitSizeLimit", limit);
                    Prop("SplitSize", size);
                    break;
                case "capacity":
                    if (node!.Value("max_percentage") is { } pct) Prop("CapacityMaxPercentage", pct.Trim(CedarConfig.PythonSpace));
                    if (node.Value("min_bytes") is { } min && CedarConfig.TryByteQuantity(min, out var minBytes)) Prop("CapacityMinBytes", minBytes);
                    break;
                case "amazons3":
                    var bucket = node!.Value("s3_bucket")!;
                    if (bucket.StartsWith("s3://", StringComparison.Ordinal)) bucket = bucket[5..];
                    Prop("S3Bucket", bucket.TrimEnd('/'));
                    if (node.Value("warn_midnite") is { } warn) Prop("S3WarnMidnight", warn is "Y" or "y" ? "true" : "false");
                    if (node.Value("encrypt") is { } encrypt) Prop("S3EncryptCommand", encrypt, "copied as text; BackupBuild runs it on upload, the importer never does");
                    if (node.Value("full_size_limit") is { } full && CedarConfig.TryByteQuantity(full, out var f2)) Prop("S3FullSizeLimit", f2);
                    if (node.Value("incr_size_limit") is { } incr && CedarConfig.TryByteQuantity(incr, out var i2)) Prop("S3IncrSizeLimit", i2);
                    break;
            }
        }
        foreach (var section in CedarConfig.KnownModules.Values.Where(s => !configured.Contains(s)))
            if (_c.Root!.First(section) is { } unused)
                _problems.Warning("Import.UnusedSection", unused.Where, section);
    }

    private void Databases(string itemType, CedarNode node)
    {
        if (node.Value("all") is "Y" or "y") _thisMachine.Add(Item(itemType, "*"));
        else foreach (var db in node.Values("database")) _thisMachine.Add(Item(itemType, db));
    }

    private void ModeProps(CedarNode node, string prefix)
    {
        if (node.Value("collect_mode") is { } c) Prop(prefix + "CollectMode", c);
        if (node.Value("compress_mode") is { } z) Prop(prefix + "CompressMode", z);
    }

    private static (string, string)[] Modes(CedarNode n)
    {
        var meta = new List<(string, string)>();
        if (n.Value("collect_mode") is { } c) meta.Add(("CollectMode", c));
        if (n.Value("compress_mode") is { } z) meta.Add(("CompressMode", z));
        return meta.ToArray();
    }

    // ----- text -----

    private void NoEquivalent(string where, string value, string hint) =>
        _problems.Warning("Import.NoEquivalent", where, value, hint);

    private static string Hint(string resource, params object[] args) => BackupTask.Format(resource, args);

    private readonly HashSet<string> _conditional = new();
    private readonly HashSet<string> _preEscaped = new();

    private void Prop(string name, string value, string? comment = null, bool conditional = false, bool escaped = false)
    {
        _properties.RemoveAll(p => p.Name == name);
        _properties.Add((name, value, comment));
        if (conditional) _conditional.Add(name);
        if (escaped) _preEscaped.Add(name);
    }

    /// <summary>MSBuild's escaping (%XX) of its special characters, so a value is taken literally.</summary>
    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var ch in value)
            sb.Append(ch is '%' or '*' or '?' or '@' or '$' or '(' or ')' or ';' or '\'' ? "%" + ((int)ch).ToString("X2") : ch.ToString());
        return sb.ToString();
    }

    private static string Xml(string s) => SecurityElement.Escape(s)!;

    private static string Item(string type, string include, params (string Name, string Value)[] metadata) =>
        ItemEscaped(type, include, metadata, Array.Empty<string>());

    private static string ItemEscaped(string type, string include, (string Name, string Value)[] metadata, string[] escapedNames)
    {
        var attrs = string.Concat(metadata.Select(m =>
            $" {m.Name}=\"{Xml(escapedNames.Contains(m.Name) ? m.Value : Escape(m.Value))}\""));
        return $"<{type} Include=\"{Xml(Escape(include))}\"{attrs} />";
    }

    private static string Comment(string s) => s.Replace("--", "- -");

    private string PeerFile(string name, string? peerItems, List<string>? machine)
    {
        var sb = new StringBuilder();
        sb.Append("<Project>\n");
        sb.Append($"  <!-- Imported from Cedar Backup 3: the peer \"{Comment(name)}\" (docs/migrating-from-cedar-backup.md). -->\n");
        if (peerItems != null) sb.Append("  <ItemGroup>\n").Append(peerItems).Append("  </ItemGroup>\n");
        if (machine != null)
        {
            sb.Append($"  <!-- What {Comment(name)} collects, purges and runs around its actions. -->\n");
            sb.Append($"  <ItemGroup Condition=\"'$(BackupPeer)' == '{Xml(Escape(name))}'\">\n");
            foreach (var line in machine) sb.Append("    ").Append(line).Append('\n');
            sb.Append("  </ItemGroup>\n");
        }
        sb.Append("</Project>\n");
        return sb.ToString();
    }

    private string Project(string source, string backupBuildRoot)
    {
        var sb = new StringBuilder();
        sb.Append("<Project DefaultTargets=\"Build\">\n");
        sb.Append($"  <!--\n    Imported from {Comment(source)} by ImportCedarConfig (docs/migrating-from-cedar-backup.md).\n");
        var reference = _c.Root?.First("reference");
        if (reference != null)
            foreach (var field in new[] { "author", "revision", "description", "generator" })
                if (reference.Value(field) is { } v) sb.Append($"    Cedar reference {field}: {Comment(v.Trim())}\n");
        sb.Append("  -->\n  <PropertyGroup>\n");
        sb.Append("    <!-- The BackupBuild checkout whose targets this project uses. -->\n");
        sb.Append($"    <BackupBuildRoot Condition=\"'$(BackupBuildRoot)' == ''\">{Xml(Escape(backupBuildRoot))}</BackupBuildRoot>\n");
        foreach (var (name, value, comment) in _properties)
        {
            if (comment != null) sb.Append($"    <!-- {Comment(comment)} -->\n");
            var v = _preEscaped.Contains(name) ? value : Escape(value);
            var condition = _conditional.Contains(name) ? $" Condition=\"'$({name})' == ''\"" : "";
            sb.Append($"    <{name}{condition}>{Xml(v)}</{name}>\n");
        }
        sb.Append("  </PropertyGroup>\n\n");
        sb.Append("  <Import Project=\"$([MSBuild]::EnsureTrailingSlash('$(BackupBuildRoot)'))targets/BackupBuild.props\" />\n");
        sb.Append("  <Import Project=\"peers/*.props\" />\n");
        sb.Append("  <Import Project=\"$([MSBuild]::EnsureTrailingSlash('$(BackupBuildRoot)'))targets/BackupBuild.targets\" />\n");
        sb.Append("</Project>\n");
        return sb.ToString();
    }
}
