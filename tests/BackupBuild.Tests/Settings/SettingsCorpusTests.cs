using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Extensions.AmazonS3;
using BackupBuild.Tasks.Extensions.Capacity;
using BackupBuild.Tasks.Extensions.Encrypt;
using BackupBuild.Tasks.Extensions.Split;
using BackupBuild.Tasks.Span;
using BackupBuild.Tasks.Verify;
using BackupBuild.Tasks.Extensions.Mysql;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Managed;
using BackupBuild.Tasks.Purge;
using BackupBuild.Tasks.Report;
using BackupBuild.Tasks.Settings;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tasks.Store;
using BackupBuild.Tasks.Validate;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;
using Xunit;

namespace BackupBuild.Tests.Settings;

/// <summary>
/// Every value of <see cref="SettingsCorpus"/> goes through Validate and through every action that reads the setting,
/// in process (the real tasks with a fake engine, in a temporary pool of one): each accepts exactly what the other
/// accepts, and a refused value gets exactly one configuration code, the same everywhere.
/// </summary>
public class SettingsCorpusTests
{
    /// <summary>The codes the settings parsers can give; what else a task logs (nothing staged yet…) is not about the value.</summary>
    private static readonly HashSet<string> ConfigurationCodes = SettingsCorpus.All.Where(e => e.Code != null).Select(e => e.Code!)
        .Concat(new[] { "BKP1007", "BKP1009", "BKP1101", "BKP1102" }).ToHashSet();

    /// <summary>A pool of one in a temporary folder: a folder to collect, a ready local peer, the folders the actions write.</summary>
    public sealed class Pool : IDisposable
    {
        public TempDir Temp { get; } = new();
        public Dictionary<string, string> Plain { get; } = new();
        public Dictionary<string, List<(string, string)>> Groups { get; } = new();

        public Pool()
        {
            Temp.File("src/a.txt", "a");
            Temp.File("peer/collect/data.tar", "data");
            Temp.File("peer/collect/" + Indicators.Collect, "");
            Plain["WorkingDir"] = Temp["work"];
            Plain["StagingDir"] = Temp["staging"];
            Plain["CollectDir"] = Temp["collect"];
        }

        public void Set(string name, string value)
        {
            if (Plain.ContainsKey(name)) { Plain[name] = value; return; }
            var group = GroupOf(name) ?? throw new ArgumentException("no group holds " + name);
            if (!Groups.TryGetValue(group, out var list)) Groups[group] = list = new();
            list.Add((name, value));
        }

        private (string, string)[] Of(string group) => Groups.TryGetValue(group, out var l) ? l.ToArray() : [];

        public ITaskItem Run => PropsDefaults.Run(new[] { ("BackupRunDate", "2026-12-09T01:00"), ("BackupLockWaitSeconds", "5") }.Concat(Of(RunSettings.ItemType)).ToArray());
        public ITaskItem Collect => PropsDefaults.Collect(Of(CollectConfiguration.SettingsItemType));
        public ITaskItem Store => PropsDefaults.Store(new[] { ("StoreMediaType", "image"), ("StoreImageCapacity", "5 MB"), ("StoreImageFile", Temp["media/backup.iso"]) }
            .Concat(Of(StoreSettings.ItemType)).ToArray());
        public ITaskItem Ssh => PropsDefaults.Ssh(Of(SshSettings.ItemType));
        public ITaskItem Mail => PropsDefaults.Mail(Of(Mailer.ItemType));
        public ITaskItem Mysql => PropsDefaults.Mysql(Of(MysqlDump.SettingsItemType));
        // The extensions' groups as a site that turned each on has them (the setting that turns it on is set).
        public ITaskItem S3 => PropsDefaults.S3(new[] { ("S3Bucket", "bucket") }.Concat(Of(AmazonS3Settings.ItemType)).ToArray());
        public ITaskItem Encrypt => PropsDefaults.Encrypt(new[] { ("EncryptRecipient", "backup@example.org"), ("EncryptGpgHomeDir", Temp["gnupg"]) }
            .Concat(Of(EncryptSettings.ItemType)).ToArray());
        public ITaskItem Split => PropsDefaults.Split(new[] { ("SplitSizeLimit", "250 MB"), ("SplitSize", "100 MB") }.Concat(Of(SplitSettings.ItemType)).ToArray());
        public ITaskItem Capacity => PropsDefaults.Capacity(new[] { ("CapacityMaxPercentage", "90") }.Concat(Of(CapacitySettings.ItemType)).ToArray());
        public ITaskItem Span => PropsDefaults.Span(new[] { ("SpanImagePattern", Temp["span/span-{n}.iso"]) }.Concat(Of(SpanSettings.ItemType)).ToArray());
        public ITaskItem Verify => PropsDefaults.Verify(Of(VerifySettings.ItemType));
        /// <summary>A collect module's group (sysinfo lists the small source folder, not /).</summary>
        public ITaskItem Module(ModuleGroup g) => PropsDefaults.Module(g,
            (g == ModuleGroup.Sysinfo ? new[] { ("SysinfoListingRoot", Temp["src"]) } : []).Concat(Of(g.ItemType)).ToArray());
        public ITaskItem Report => PropsDefaults.Report(new[] { ("ReportFile", Temp["report.html"]), ("ReportTextFile", Temp["report.txt"]) }
            .Concat(Of(ReportSettings.ItemType)).ToArray());
        public ITaskItem Schedule => PropsDefaults.Schedule(new[] { ("ScheduleFile", Temp["cron.d/backupbuild"]) }.Concat(Of(ScheduleSettings.ItemType)).ToArray());
        public ITaskItem Requests => PropsDefaults.Requests(Of(RequestSettings.ItemType));
        public ITaskItem Programs => PropsDefaults.Programs(Of(ProgramSettings.ItemType));
        public ITaskItem Restore => PropsDefaults.Restore(Of(RestoreSettings.ItemType));
        public ITaskItem Browse => PropsDefaults.Browse(Of(BrowseSettings.ItemType));
        public ITaskItem Sync => PropsDefaults.Sync(Of(SyncSettings.ItemType));
        public ITaskItem Log => PropsDefaults.Log(Of(LogSettings.ItemType));
        public ITaskItem Purge => PropsDefaults.Purge(Of(PurgeSettings.ItemType));
        // The items as MSBuild hands them over: with the props' per-item defaults (ItemDefinitionGroups).
        public ITaskItem[] Peers => [PropsDefaults.Defined("Peer", "peer", ("Type", "local"), ("CollectDir", Temp["peer/collect"]))];
        public ITaskItem[] Sources => [PropsDefaults.Defined("CollectDirectory", Temp["src"])];
        public ITaskItem[] Servers => [PropsDefaults.Defined("BackupServer", "backup1", ("Host", "backup1"))];
        public ITaskItem[] Clients => [PropsDefaults.Defined("RequestClient", "web1", ("Host", "web1"), ("Folders", "/srv/www"))];
        /// <summary>A collect module's item (GitRepository, MboxFile…): a path in the pool that does not exist (the run says so, in a code of its own).</summary>
        public ITaskItem[] ModuleItems(string type) => [PropsDefaults.Defined(type, Temp["modules/" + type])];

        public void Dispose() => Temp.Dispose();
    }

    public static string? GroupOf(string name) =>
        RunSettings.Names.Contains(name) ? RunSettings.ItemType
        : CollectConfiguration.SettingsNames.Contains(name) ? CollectConfiguration.SettingsItemType
        : StoreSettings.Names.Contains(name) ? StoreSettings.ItemType
        : SshSettings.Names.Contains(name) ? SshSettings.ItemType
        : Mailer.Names.Contains(name) ? Mailer.ItemType
        : MysqlDump.SettingsNames.Contains(name) ? MysqlDump.SettingsItemType
        : AmazonS3Settings.Names.Contains(name) ? AmazonS3Settings.ItemType
        : EncryptSettings.Names.Contains(name) ? EncryptSettings.ItemType
        : SplitSettings.Names.Contains(name) ? SplitSettings.ItemType
        : CapacitySettings.Names.Contains(name) ? CapacitySettings.ItemType
        : SpanSettings.Names.Contains(name) ? SpanSettings.ItemType
        : VerifySettings.Names.Contains(name) ? VerifySettings.ItemType
        : ReportSettings.Names.Contains(name) ? ReportSettings.ItemType
        : ScheduleSettings.Names.Contains(name) ? ScheduleSettings.ItemType
        : RequestSettings.Names.Contains(name) ? RequestSettings.ItemType
        : ProgramSettings.Names.Contains(name) ? ProgramSettings.ItemType
        : RestoreSettings.Names.Contains(name) ? RestoreSettings.ItemType
        : BrowseSettings.Names.Contains(name) ? BrowseSettings.ItemType
        : SyncSettings.Names.Contains(name) ? SyncSettings.ItemType
        : LogSettings.Names.Contains(name) ? LogSettings.ItemType
        : PurgeSettings.Names.Contains(name) ? PurgeSettings.ItemType
        : ModuleGroup.All.FirstOrDefault(g => g.Names.Contains(name))?.ItemType;

    /// <summary>The actions that read a setting, besides Validate: each a name and a way to run it in a pool.</summary>
    public static IEnumerable<(string Name, Func<Pool, BackupBuild.Tasks.Infrastructure.BackupTask> Make)> Readers(string setting)
    {
        var group = GroupOf(setting);
        bool Uses(params string[] groupsOrNames) => groupsOrNames.Contains(group) || groupsOrNames.Contains(setting);
        if (Uses(RunSettings.ItemType, CollectConfiguration.SettingsItemType, "WorkingDir"))
        {
            // ComputeCollectStamp parses with the same CollectTaskBase.LoadConfiguration; it needs MSBuild's engine (the end-to-end tests run it).
            yield return ("CollectArchives", p => new CollectArchives
            {
                CollectDirectories = p.Sources, CollectDir = p.Plain["CollectDir"], WorkingDir = p.Plain["WorkingDir"],
                RunSettings = p.Run, CollectSettings = p.Collect, StagingDir = p.Plain["StagingDir"],
            });
        }
        if (Uses(RunSettings.ItemType, SshSettings.ItemType, "WorkingDir", "StagingDir"))
            yield return ("StagePeers", p => new StagePeers
            {
                Peers = p.Peers, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run, SshSettings = p.Ssh,
            });
        if (Uses(RunSettings.ItemType, SshSettings.ItemType))
            yield return ("RunManagedPeers", p => new RunManagedPeers { Action = "Collect", Peers = p.Peers, RunSettings = p.Run, SshSettings = p.Ssh });
        if (Uses(RunSettings.ItemType, StoreSettings.ItemType, "WorkingDir", "StagingDir"))
            yield return ("StoreDay", p => new StoreDay
            {
                StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], CollectDir = p.Plain["CollectDir"],
                RunSettings = p.Run, StoreSettings = p.Store,
            });
        if (Uses(RunSettings.ItemType, PurgeSettings.ItemType, "WorkingDir"))
            yield return ("PurgeFiles", p => new PurgeFiles
            {
                WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run, CollectDir = p.Plain["CollectDir"], StagingDir = p.Plain["StagingDir"],
                PurgeSettings = p.Purge,
            });
        if (Uses(Mailer.ItemType, ReportSettings.ItemType))
            yield return ("WriteBackupReport", p => new WriteBackupReport
            {
                StagingDir = p.Plain["StagingDir"], ReportSettings = p.Report, RunSettings = p.Run, MailSettings = p.Mail,
                Peers = p.Peers, WorkingDir = p.Plain["WorkingDir"],
            });
        if (Uses(AmazonS3Settings.ItemType))
            // No staged day: the upload checks its settings and finds nothing to upload (S3 is never contacted).
            yield return ("UploadStagedDayToS3", p => new UploadStagedDayToS3
            {
                S3Settings = p.S3, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
            });
        if (setting is "S3PartSize" or "S3VerifyChecksum" || Uses(SyncSettings.ItemType))
            // A missing SyncSource (BKP6303, not a settings code) stops it before it connects.
            yield return ("SyncFolderToS3", p => new SyncFolderToS3 { Source = p.Temp["nothing-here"], Target = "s3://bucket/x", S3Settings = p.S3, SyncSettings = p.Sync });
        if (Uses(EncryptSettings.ItemType))
            yield return ("EncryptStagedDays", p => new EncryptStagedDays
            {
                EncryptSettings = p.Encrypt, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
            });
        if (Uses(SplitSettings.ItemType))
            yield return ("SplitStagedDays", p => new SplitStagedDays
            {
                SplitSettings = p.Split, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
            });
        if (Uses(CapacitySettings.ItemType))
            yield return ("CheckMediaCapacity", p => new CheckMediaCapacity
            {
                CapacitySettings = p.Capacity, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], CollectDir = p.Plain["CollectDir"],
                RunSettings = p.Run, StoreSettings = p.Store,
            });
        if (Uses(SpanSettings.ItemType))
            yield return ("SpanStagedData", p => new SpanStagedData
            {
                SpanSettings = p.Span, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
            });
        foreach (var module in ModuleGroup.All.Where(g => Uses(g.ItemType) || ModulePrograms(g).Contains(setting)))
            yield return (module.Module, p => ModuleTask(module, p));
        if (Uses(ScheduleSettings.ItemType))
            // A pool of one with a request-queue server, so ScheduleRequestUser runs lines; the cron file goes into the pool.
            yield return ("WriteSchedule", p => new BackupBuild.Tasks.Deploy.WriteSchedule
            {
                ScheduleSettings = p.Schedule, ProjectFile = p.Temp["backup.proj"], Peers = p.Peers, ThisPeer = "peer",
                BackupServers = p.Servers, BackupLog = "false", RequestRoot = p.Temp["requests"],
            });
        if (setting == "ScheduleFile")
            yield return ("RemoveSchedule", p => new BackupBuild.Tasks.Deploy.WriteSchedule { Remove = true, ScheduleSettings = p.Schedule, ProjectFile = p.Temp["backup.proj"] });
        if (Uses(RequestSettings.ItemType) || setting == "RequestGitProgram")
            // No BackupServer item: the task checks its settings and stops (BKP7xxx, not a settings code) before any ssh.
            yield return ("SendRequests", p => new BackupBuild.Tasks.Requests.SendRequests
            {
                RequestRoot = p.Temp["requests"], ClientName = "peer", RequestSettings = p.Requests, ProgramSettings = p.Programs,
                RunSettings = p.Run, MailSettings = p.Mail, SshSettings = p.Ssh,
            });
        if (Uses(RequestSettings.ItemType) || setting is "RequestGitProgram" or "RequestRsyncProgram" or "RequestSftpProgram")
            yield return ("ProcessRequests", p => new BackupBuild.Tasks.Requests.ProcessRequests
            {
                RequestServerRoot = p.Temp["request-server"], RequestSettings = p.Requests, ProgramSettings = p.Programs,
                RunSettings = p.Run, MailSettings = p.Mail, SshSettings = p.Ssh,
            });
        if (Uses(VerifySettings.ItemType))
            yield return ("VerifyStoredArchives", p => new VerifyStoredArchives
            {
                VerifySettings = p.Verify, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
            });
        if (Uses(RestoreSettings.ItemType))
            // Nothing is stored in the pool: the task checks its settings, then finds no medium (BKP8001, not a settings code).
            yield return ("RestoreFiles", p => new BackupBuild.Tasks.Restore.RestoreFiles
            {
                Peer = "peer", Destination = p.Temp["restored"], StagingDir = p.Plain["StagingDir"], RestoreSettings = p.Restore,
            });
        if (setting is "RestoreGpgPath" or "RestoreGpgHomeDir" or "RestorePassphraseFile")
        {
            yield return ("FindFiles", p => new BackupBuild.Tasks.Restore.FindFiles { Pattern = "*", StagingDir = p.Plain["StagingDir"], RestoreSettings = p.Restore });
            // Verify reads encrypted days with the same gpg settings (docs/actions/verify.md).
            yield return ("VerifyStoredArchives (gpg)", p => new VerifyStoredArchives
            {
                VerifySettings = p.Verify, StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run,
                RestoreSettings = p.Restore,
            });
        }
        if (Uses(BrowseSettings.ItemType))
            // A client with nothing stored: the task checks its settings, then finds no versions (BKP7054, not a settings code).
            yield return ("BrowseVersions", p => new BackupBuild.Tasks.Requests.BrowseVersions
            {
                RequestServerRoot = p.Temp["request-server"], Client = "web1", BrowseSettings = p.Browse, RunSettings = p.Run, MailSettings = p.Mail,
                SshSettings = p.Ssh,
            });
        if (Uses(LogSettings.ItemType))
            yield return ("WriteRunLog", p => new BackupBuild.Tasks.Deploy.WriteRunLog { LogFile = p.Temp["logs/backupbuild.log"], LogSettings = p.Log });
        if (Uses(MysqlDump.SettingsItemType))
            // No MysqlDatabase item: the task checks its settings and stops before running the dump program.
            yield return ("MysqlDump", p => new MysqlDump { CollectDir = p.Plain["CollectDir"], MysqlSettings = p.Mysql, Databases = [] });
    }

    /// <summary>The settings of the programs group a module's task reads.</summary>
    private static string[] ModulePrograms(ModuleGroup g) => g.Module switch
    {
        "git" => ["GitPath"], "mbox" => ["GrepmailPath"], "subversion" => ["SvnadminPath", "SvnlookPath"],
        "postgresql" => ["PostgresqlDumpProgram", "PostgresqlDumpAllProgram"], "trac" or "mediawiki" => ["SqliteProgram"], _ => [],
    };

    /// <summary>The module's task with no items: it checks its settings and has nothing to dump.</summary>
    private static BackupBuild.Tasks.Infrastructure.BackupTask ModuleTask(ModuleGroup g, Pool p)
    {
        var settings = p.Module(g);
        string collect = p.Plain["CollectDir"], working = p.Plain["WorkingDir"];
        BackupBuild.Tasks.Infrastructure.BackupTask task = g.Module switch
        {
            "git" => new BackupBuild.Tasks.Extensions.Git.BackupGitRepositories { GroupSettings = settings, CollectDir = collect, WorkingDir = working, RunSettings = p.Run },
            "mbox" => new BackupBuild.Tasks.Extensions.Mbox.BackupMbox { GroupSettings = settings, CollectDir = collect, WorkingDir = working, RunSettings = p.Run },
            "subversion" => new BackupBuild.Tasks.Extensions.Subversion.BackupSubversion { GroupSettings = settings, CollectDir = collect, WorkingDir = working, RunSettings = p.Run },
            "postgresql" => new BackupBuild.Tasks.Extensions.Postgresql.PostgresqlDump { GroupSettings = settings, CollectDir = collect, Databases = [] },
            "trac" => new BackupBuild.Tasks.Extensions.Trac.TracDump { GroupSettings = settings, CollectDir = collect, Sites = [] },
            "mediawiki" => new BackupBuild.Tasks.Extensions.Mediawiki.MediawikiDump { GroupSettings = settings, CollectDir = collect, Sites = [] },
            "wordpress" => new BackupBuild.Tasks.Extensions.Wordpress.WordpressDump { GroupSettings = settings, CollectDir = collect, Sites = [] },
            "sysinfo" => new BackupBuild.Tasks.Extensions.Sysinfo.CollectSysinfo { GroupSettings = settings, CollectDir = collect },
            _ => throw new ArgumentException(g.Module),
        };
        // Each reads its programs from the programs group.
        var programs = task.GetType().GetProperty("ProgramSettings");
        programs?.SetValue(task, p.Programs);
        return task;
    }

    private static ValidateConfiguration Validate(Pool p) => new()
    {
        CollectDirectories = p.Sources, Peers = p.Peers, CollectDir = p.Plain["CollectDir"], WorkingDir = p.Plain["WorkingDir"],
        StagingDir = p.Plain["StagingDir"], RunSettings = p.Run, CollectSettings = p.Collect, StoreSettings = p.Store, SshSettings = p.Ssh,
        MailSettings = p.Mail, MysqlSettings = p.Mysql, MysqlDatabases = [Items.Of("shop")], PurgeSettings = p.Purge,
        S3Settings = p.S3, EncryptSettings = p.Encrypt, SplitSettings = p.Split, CapacitySettings = p.Capacity,
        SpanSettings = p.Span, VerifySettings = p.Verify, ReportSettings = p.Report, ModuleSettings = ModuleGroup.All.Select(p.Module).ToArray(),
        ScheduleSettings = p.Schedule, RequestSettings = p.Requests, ProgramSettings = p.Programs, BackupServers = p.Servers, RequestClients = p.Clients,
        RestoreSettings = p.Restore, BrowseSettings = p.Browse, SyncSettings = p.Sync, LogSettings = p.Log,
    };

    /// <summary>The configuration codes a task logs in a fresh pool with one setting changed (none: the defaults).</summary>
    private static List<string> Codes(Func<Pool, BackupBuild.Tasks.Infrastructure.BackupTask> make, SettingsCorpus.Entry? entry)
    {
        using var pool = new Pool();
        if (entry != null) pool.Set(entry.Setting, entry.Value);
        var engine = new FakeBuildEngine();
        var task = make(pool);
        task.BuildEngine = engine;
        task.Execute();
        return engine.ErrorCodes.Select(c => c!).Where(ConfigurationCodes.Contains).Order().ToList();
    }

    public static TheoryData<string> Settings() => new(SettingsCorpus.All.Select(e => e.Setting).Distinct());

    [Theory]
    [MemberData(nameof(Settings))]
    public void Validate_and_every_action_reading_the_setting_accept_the_same_values_with_the_same_code(string setting)
    {
        var tasks = Readers(setting).Prepend(("ValidateConfiguration", Validate)).ToList();
        Assert.True(tasks.Count > 1, $"no action reads {setting}");
        var failures = new List<string>();
        foreach (var (name, make) in tasks)
        {
            var baseline = Codes(make, null);
            Assert.True(baseline.Count == 0, $"{name} with the props' defaults: {string.Join(", ", baseline)}");
            foreach (var entry in SettingsCorpus.All.Where(e => e.Setting == setting))
            {
                var codes = Codes(make, entry);
                var expected = entry.Code == null ? new List<string>() : new List<string> { entry.Code };
                if (!codes.SequenceEqual(expected)) failures.Add($"{name}: {entry}, got [{string.Join(", ", codes)}]");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData("1", null)]
    [InlineData("7200", null)]
    [InlineData("0", "BKP9043")]
    [InlineData("1h", "BKP9043")]
    [InlineData("", "BKP9043")]
    public void Validate_and_a_hook_run_agree_on_an_ActionHook_Timeout(string timeout, string? code)
    {
        // The default (3600) is the props' ItemDefinitionGroup: an item that sets none carries it; an emptied one is refused.
        ITaskItem Hook() => PropsDefaults.Defined("ActionHook", "note", ("Action", "Collect"), ("Phase", "after"), ("Command", "true"), ("Timeout", timeout));
        var expected = code == null ? new List<string>() : [code];
        using var pool = new Pool();
        var validate = Validate(pool);
        validate.ActionHooks = [Hook()];
        var run = new BackupBuild.Tasks.Deploy.RunActionHooks { Hooks = [Hook()], Action = "Collect", Phase = "after", WorkingDirectory = pool.Temp.Path };
        foreach (var task in new BackupBuild.Tasks.Infrastructure.BackupTask[] { validate, run })
        {
            var engine = new FakeBuildEngine();
            task.BuildEngine = engine;
            task.Execute();
            Assert.Equal(expected, engine.ErrorCodes.Where(c => c == "BKP9043" || ConfigurationCodes.Contains(c!)).ToList());
        }
        Assert.Contains(PropsDefaults.ItemDefaults("ActionHook"), d => d == ("Timeout", "3600"));
    }

    /// <summary>
    /// Per-item defaults (the ItemDefinitionGroups of targets/BackupBuild.props): an item's value, good or bad, with the one
    /// code a bad one gets (null: accepted). An emptied metadata that has a default is BKP1151: no parser falls back.
    /// Remote peers get only refused values (an accepted one would make Stage connect).
    /// </summary>
    public static readonly (string Item, string Metadata, string Value, string? Code)[] ItemCorpus =
    {
        ("CollectDirectory", "LinkDepth", "2", null), ("CollectDirectory", "LinkDepth", "-1", "BKP1008"), ("CollectDirectory", "LinkDepth", "deep", "BKP1008"),
        ("CollectDirectory", "LinkDepth", "", "BKP1151"),
        ("CollectDirectory", "Dereference", "False", null), ("CollectDirectory", "Dereference", "yes", "BKP1006"), ("CollectDirectory", "Dereference", "", "BKP1151"),
        ("CollectDirectory", "Dereference", "true", "BKP1024"),
        ("CollectDirectory", "RecursionLevel", "-1", null), ("CollectDirectory", "RecursionLevel", "1", null), ("CollectDirectory", "RecursionLevel", "x", "BKP1007"),
        ("CollectDirectory", "RecursionLevel", "", "BKP1151"),
        ("CollectDirectory", "CollectMode", "weekly", null), ("CollectDirectory", "CollectMode", "hourly", "BKP1021"), ("CollectDirectory", "CollectMode", "", "BKP1151"),
        ("CollectDirectory", "ArchiveMode", "tar", null), ("CollectDirectory", "ArchiveMode", "", "BKP1151"),
        ("CollectDirectory", "IgnoreFile", ".nobackup", null), ("CollectDirectory", "IgnoreFile", "a/b", "BKP1023"), ("CollectDirectory", "IgnoreFile", "", "BKP1151"),
        ("Peer", "IgnoreFailures", "all", null), ("Peer", "IgnoreFailures", "sometimes", "BKP3008"), ("Peer", "IgnoreFailures", "", "BKP1151"),
        ("Peer", "Managed", "true", "BKP3015"), ("Peer", "Managed", "", "BKP1151"),
        ("remote Peer", "Host", "", "BKP1151"), ("remote Peer", "Host", "-oProxyCommand=id", "BKP3016"), ("remote Peer", "Port", "", "BKP1151"), ("remote Peer", "Port", "0", "BKP3017"), ("remote Peer", "Port", "ssh", "BKP3017"),
        ("remote Peer", "Managed", "", "BKP1151"), ("remote Peer", "Managed", "yes", "BKP3032"),
        ("BackupServer", "Port", "2222", null), ("BackupServer", "Port", "70000", "BKP7012"), ("BackupServer", "Port", "", "BKP1151"),
        ("BackupServer", "User", "root", null), ("BackupServer", "User", "", "BKP1151"),
        ("BackupServer", "Repository", "/srv/control/me.git", null), ("BackupServer", "Repository", "control/me.git", "BKP7015"),
        ("BackupServer", "Repository", "", "BKP1151"),
        ("BackupServer", "Default", "true", null), ("BackupServer", "Default", "yes", "BKP1006"), ("BackupServer", "Default", "", "BKP1151"),
        ("BackupServer", "IdentityFile", "", null), ("BackupServer", "KnownHostsFile", "", null),
        ("RequestClient", "Port", "22", null), ("RequestClient", "Port", "+22", "BKP7012"), ("RequestClient", "Port", "", "BKP1151"),
        ("RequestClient", "User", "", "BKP1151"),
        ("RequestClient", "Outgoing", "/srv/outgoing", null), ("RequestClient", "Outgoing", "outgoing", "BKP1010"), ("RequestClient", "Outgoing", "", "BKP1151"),
        ("RequestClient", "Repository", "/srv/control/web1.git", null), ("RequestClient", "Repository", "web1.git", "BKP1010"),
        ("RequestClient", "Repository", "", "BKP1151"),
        // The collect modules' items: the mode properties are their defaults (ItemDefinitionGroups), emptied is BKP1151.
        ("GitRepository", "CollectMode", "weekly", null), ("GitRepository", "CollectMode", "hourly", "BKP6100"), ("GitRepository", "CollectMode", "", "BKP1151"),
        ("MboxFile", "CollectMode", "incr", null), ("MboxFile", "CollectMode", "", "BKP1151"),
        ("MboxFile", "CompressMode", "gzip", null), ("MboxFile", "CompressMode", "zip", "BKP6101"), ("MboxFile", "CompressMode", "", "BKP1151"),
        ("MboxDirectory", "CollectMode", "often", "BKP6100"), ("MboxDirectory", "CollectMode", "", "BKP1151"),
        ("MboxDirectory", "CompressMode", "bzip2", null), ("MboxDirectory", "CompressMode", "", "BKP1151"),
        ("SubversionRepository", "CollectMode", "daily", null), ("SubversionRepository", "CollectMode", "", "BKP1151"),
        ("SubversionRepository", "CompressMode", "xz", "BKP6101"), ("SubversionRepository", "CompressMode", "", "BKP1151"),
    };

    private static readonly HashSet<string> ItemCodes = ItemCorpus.Where(e => e.Code != null).Select(e => e.Code!).Concat(ConfigurationCodes).ToHashSet();

    public static TheoryData<string> ItemTypes() => new(ItemCorpus.Select(e => e.Item).Distinct());

    [Theory]
    [MemberData(nameof(ItemTypes))]
    public void Validate_and_the_actions_reading_an_item_accept_the_same_metadata_with_the_same_code(string item)
    {
        // The pool's items, one of them with the value: what Validate and each action reading the item get.
        ITaskItem[] With(Pool p, string metadata, string? value)
        {
            ITaskItem[] items = item switch
            {
                "CollectDirectory" => p.Sources,
                "Peer" => p.Peers,
                "remote Peer" => [PropsDefaults.Defined("Peer", "peer", ("Type", "remote"), ("Host", "127.0.0.1"), ("CollectDir", "/var/lib/backupbuild/collect"))],
                "BackupServer" => p.Servers,
                "RequestClient" => p.Clients,
                _ => p.ModuleItems(item),
            };
            if (value != null) items[0].SetMetadata(metadata, value);
            return items;
        }
        var readers = new List<(string Name, Func<Pool, string, string?, BackupBuild.Tasks.Infrastructure.BackupTask> Make)>
        {
            ("ValidateConfiguration", (p, m, v) =>
            {
                var validate = Validate(p);
                switch (item)
                {
                    case "CollectDirectory": validate.CollectDirectories = With(p, m, v); break;
                    case "Peer" or "remote Peer": validate.Peers = With(p, m, v); break;
                    case "BackupServer": validate.BackupServers = With(p, m, v); break;
                    case "RequestClient": validate.RequestClients = With(p, m, v); break;
                    case "GitRepository": validate.GitRepositories = With(p, m, v); break;
                    case "MboxFile": validate.MboxFiles = With(p, m, v); break;
                    case "MboxDirectory": validate.MboxDirectories = With(p, m, v); break;
                    default: validate.SubversionRepositories = With(p, m, v); break;
                }
                return validate;
            }),
        };
        switch (item)
        {
            case "CollectDirectory":
                readers.Add(("CollectArchives", (p, m, v) => new CollectArchives
                {
                    CollectDirectories = With(p, m, v), CollectDir = p.Plain["CollectDir"], WorkingDir = p.Plain["WorkingDir"],
                    RunSettings = p.Run, CollectSettings = p.Collect, StagingDir = p.Plain["StagingDir"],
                }));
                break;
            case "Peer" or "remote Peer":
                readers.Add(("StagePeers", (p, m, v) => new StagePeers
                {
                    Peers = With(p, m, v), StagingDir = p.Plain["StagingDir"], WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run, SshSettings = p.Ssh,
                }));
                readers.Add(("RunManagedPeers", (p, m, v) => new RunManagedPeers { Action = "Collect", Peers = With(p, m, v), RunSettings = p.Run, SshSettings = p.Ssh }));
                break;
            case "BackupServer":
                // -t:Request reads the servers, then finds the module has no items (BKP7024, not about the value): nothing is queued.
                readers.Add(("QueueRequests", (p, m, v) => new BackupBuild.Tasks.Requests.QueueRequests
                {
                    Module = "directories", RequestRoot = p.Temp["requests"], ClientName = "peer", Servers = With(p, m, v), RunSettings = p.Run,
                    MailSettings = p.Mail, SshSettings = p.Ssh,
                }));
                break;
            case "GitRepository" or "MboxFile" or "MboxDirectory" or "SubversionRepository":
                // The module as its target runs it: the group, the programs, the run date and the folders of the pool.
                readers.Add((item, (p, m, v) =>
                {
                    BackupBuild.Tasks.Extensions.Repositories.ModuleTaskBase module = item switch
                    {
                        "GitRepository" => new BackupBuild.Tasks.Extensions.Git.BackupGitRepositories { Repositories = With(p, m, v) },
                        "MboxFile" => new BackupBuild.Tasks.Extensions.Mbox.BackupMbox { MboxFiles = With(p, m, v) },
                        "MboxDirectory" => new BackupBuild.Tasks.Extensions.Mbox.BackupMbox { MboxDirectories = With(p, m, v) },
                        _ => new BackupBuild.Tasks.Extensions.Subversion.BackupSubversion { Repositories = With(p, m, v) },
                    };
                    module.GroupSettings = p.Module(module.ModuleGroup);
                    module.RunSettings = p.Run;
                    module.ProgramSettings = p.Programs;
                    module.CollectDir = p.Plain["CollectDir"];
                    module.WorkingDir = p.Plain["WorkingDir"];
                    return module;
                }));
                break;
            default:
                // Browse reads the clients, then finds nothing stored (BKP7054, not about the value).
                readers.Add(("BrowseVersions", (p, m, v) => new BackupBuild.Tasks.Requests.BrowseVersions
                {
                    RequestServerRoot = p.Temp["request-server"], Client = "web1", Clients = With(p, m, v), BrowseSettings = p.Browse,
                    RunSettings = p.Run, MailSettings = p.Mail, SshSettings = p.Ssh,
                }));
                break;
        }
        List<string> CodesOf(Func<Pool, string, string?, BackupBuild.Tasks.Infrastructure.BackupTask> make, string metadata, string? value)
        {
            using var pool = new Pool();
            var engine = new FakeBuildEngine();
            var task = make(pool, metadata, value);
            task.BuildEngine = engine;
            task.Execute();
            return engine.ErrorCodes.Select(c => c!).Where(ItemCodes.Contains).Order().ToList();
        }
        var failures = new List<string>();
        foreach (var (name, make) in readers)
        {
            // The remote peer is only ever given refused values: with the defaults Stage would connect.
            if (item != "remote Peer")
            {
                var baseline = CodesOf(make, "", null);
                Assert.True(baseline.Count == 0, $"{name} with the props' per-item defaults: {string.Join(", ", baseline)}");
            }
            foreach (var e in ItemCorpus.Where(e => e.Item == item))
            {
                var codes = CodesOf(make, e.Metadata, e.Value);
                var expected = e.Code == null ? new List<string>() : [e.Code];
                if (!codes.SequenceEqual(expected)) failures.Add($"{name}: {item} {e.Metadata}=\"{e.Value}\" expected [{string.Join(", ", expected)}], got [{string.Join(", ", codes)}]");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // Every metadata that has a per-item default has an emptied case (BKP1151) unless empty is a value of its own.
        var type = item.Replace("remote ", "");
        foreach (var (metadata, value) in PropsDefaults.ItemDefaults(type, expand: false).Where(d => d.Value.Length > 0 && !d.Value.StartsWith("$(")))
            Assert.True(ItemCorpus.Any(e => e.Item.EndsWith(type) && e.Metadata == metadata && e.Value == "" && e.Code == "BKP1151"),
                $"{type} {metadata} (default {value}) has no emptied case in the item corpus");
    }

    [Fact]
    public void Validate_and_SyncToS3_refuse_both_sync_modes_at_once_with_one_code()
    {
        using var pool = new Pool();
        pool.Set("SyncVerifyOnly", "true");
        pool.Set("SyncUploadOnly", "true");
        foreach (var (name, make) in Readers("SyncVerifyOnly").Prepend(("ValidateConfiguration", Validate)))
        {
            var engine = new FakeBuildEngine();
            var task = make(pool);
            task.BuildEngine = engine;
            task.Execute();
            Assert.True(engine.ErrorCodes.Where(c => c == "BKP6304" || ConfigurationCodes.Contains(c!)).SequenceEqual(["BKP6304"]),
                $"{name}: {string.Join(", ", engine.ErrorCodes)}");
        }
    }

    [Fact]
    public void The_corpus_covers_every_setting_of_every_group_that_is_parsed()
    {
        // Every group setting but free text (names, programs, options) and the run date's "now" has a refused value.
        var parsedButFree = new HashSet<string>
        {
            "RemoteUser", "SshIdentityFile", "SshKnownHostsFile", "SshCiphers", "RemoteShell", "RemoteCopy", "ManagedActions",
            "ManagedProject", "IgnoreFile", "MailSendmailArguments", "MailSmtpHost", "MailFrom", "MysqlDumpArguments",
            "S3Endpoint", "S3Region", "S3EncryptCommand", "EncryptRecipient",
            // Free text of the schedule: extra msbuild arguments (only an unclosed quote is refused, which the corpus has).
        };
        var names = RunSettings.Names.Concat(CollectConfiguration.SettingsNames).Concat(StoreSettings.Names).Concat(SshSettings.Names)
            .Concat(Mailer.Names).Concat(MysqlDump.SettingsNames).Concat(AmazonS3Settings.Names).Concat(EncryptSettings.Names)
            .Concat(SplitSettings.Names).Concat(CapacitySettings.Names).Concat(SpanSettings.Names).Concat(VerifySettings.Names)
            .Concat(ReportSettings.Names).Concat(ModuleGroup.All.SelectMany(g => g.Names)).Concat(ScheduleSettings.Names)
            .Concat(RequestSettings.Names).Concat(ProgramSettings.Names).Concat(RestoreSettings.Names).Concat(BrowseSettings.Names)
            .Concat(SyncSettings.Names).Concat(LogSettings.Names).Concat(PurgeSettings.Names);
        var missing = names.Where(n => !parsedButFree.Contains(n) && !SettingsCorpus.All.Any(e => e.Setting == n && e.Code != null)).ToList();
        Assert.True(missing.Count == 0, "no bad value in the corpus for " + string.Join(", ", missing));
    }
}
