using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Purge;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tasks.Store;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Validate;

/// <summary>
/// The Validate action: every configuration problem of every action at once, each with its
/// code and the item and metadata at fault, plus checks that the folders the actions read and
/// write are usable. Unlike Cedar Backup's validate, it fails (exit code 1) when anything is wrong.
/// </summary>
public sealed class ValidateConfiguration : BackupTask, ICollectParameters
{
    public ITaskItem[]? CollectDirectories { get; set; }
    public ITaskItem[]? CollectFiles { get; set; }
    public ITaskItem[]? Peers { get; set; }
    public ITaskItem[]? PurgeDirectories { get; set; }
    public string? CollectDir { get; set; }
    public string? WorkingDir { get; set; }
    public string? StagingDir { get; set; }
    /// <summary>The settings groups of targets/BackupBuild.Settings.targets, parsed by the classes the actions use.</summary>
    public ITaskItem? RunSettings { get; set; }
    public ITaskItem? CollectSettings { get; set; }
    public ITaskItem? StoreSettings { get; set; }
    public ITaskItem? SshSettings { get; set; }
    public ITaskItem? MailSettings { get; set; }
    /// <summary>@(BackupPurgeSettings), as Purge reads it.</summary>
    public ITaskItem? PurgeSettings { get; set; }
    /// <summary>$(MSBuildProjectDirectory) and BackupBuild's checkout: no PurgeDirectory may hold them.</summary>
    public string? ProjectDirectory { get; set; }
    public string? CheckoutDirectory { get; set; }
    /// <summary>BackupRole and BackupPeer: an explicit role that the Peer items contradict is warned about (BKP9050).</summary>
    public string? Role { get; set; }
    public string? ThisPeer { get; set; }
    /// <summary>MysqlOptionsFile and the MysqlDatabase items: the option file must exist where the dumps run.</summary>
    public ITaskItem? MysqlSettings { get; set; }
    public ITaskItem[]? MysqlDatabases { get; set; }
    /// <summary>
    /// The extensions' groups: each is parsed (by the class its action uses) only when the extension is on, as the
    /// targets decide it: the item exists (its Enable… switch) and the setting that turns it on is set.
    /// </summary>
    public ITaskItem? S3Settings { get; set; }
    public ITaskItem? EncryptSettings { get; set; }
    public ITaskItem? SplitSettings { get; set; }
    public ITaskItem? CapacitySettings { get; set; }
    /// <summary>The collect modules' groups (BackupGitSettings…), only those of modules that have items (the targets choose).</summary>
    public ITaskItem[]? ModuleSettings { get; set; }
    /// <summary>
    /// The collect modules' items, each read by its module's own parser (metadata, modes, paths, duplicates) when the
    /// module's group is in <see cref="ModuleSettings"/>; the dump modules' items get the checks their task makes before
    /// it reads a site's files (database names, absolute site paths).
    /// </summary>
    public ITaskItem[]? GitRepositories { get; set; }
    public ITaskItem[]? MboxFiles { get; set; }
    public ITaskItem[]? MboxDirectories { get; set; }
    public ITaskItem[]? SubversionRepositories { get; set; }
    public ITaskItem[]? PostgresqlDatabases { get; set; }
    public ITaskItem[]? TracSites { get; set; }
    public ITaskItem[]? MediawikiSites { get; set; }
    public ITaskItem[]? WordpressSites { get; set; }
    /// <summary>The groups of Span, Verify and Report, actions that are always there.</summary>
    public ITaskItem? SpanSettings { get; set; }
    public ITaskItem? VerifySettings { get; set; }
    public ITaskItem? ReportSettings { get; set; }
    /// <summary>
    /// The groups of InstallSchedule, the request queue and the programs, parsed always (every program, even of a module
    /// that is off). The BackupServer and RequestClient items decide whether ScheduleRequestUser runs cron lines.
    /// </summary>
    public ITaskItem? ScheduleSettings { get; set; }
    public ITaskItem? RequestSettings { get; set; }
    public ITaskItem? ProgramSettings { get; set; }
    public ITaskItem[]? BackupServers { get; set; }
    public ITaskItem[]? RequestClients { get; set; }
    /// <summary>
    /// The groups of Restore and Find, Browse and SyncToS3 (only with EnableBackupS3Extension: the item exists), and of the run
    /// log (only when BackupLog is not false, as the targets run WriteRunLog only then).
    /// </summary>
    public ITaskItem? RestoreSettings { get; set; }
    public ITaskItem? BrowseSettings { get; set; }
    public ITaskItem? SyncSettings { get; set; }
    public ITaskItem? LogSettings { get; set; }
    public string? BackupLog { get; set; }
    /// <summary>The ActionHook items, checked as every hook run checks them (RunActionHooks.Check).</summary>
    public ITaskItem[]? ActionHooks { get; set; }

    /// <summary>Each collect module's items as its task reads them, for the modules whose group the targets passed (on and with items).</summary>
    private void CheckModuleItems(Problems problems)
    {
        ITaskItem? GroupOf(Settings.ModuleGroup group) => (ModuleSettings ?? []).FirstOrDefault(m => Settings.ModuleGroup.Of(m) == group);
        void Check(Extensions.Repositories.ModuleTaskBase module, Settings.ModuleGroup group)
        {
            if (GroupOf(group) is not { } settings) return;
            module.GroupSettings = settings;
            module.RunSettings = RunSettings;
            module.ProgramSettings = ProgramSettings;
            module.CollectDir = CollectDir;
            module.WorkingDir = WorkingDir;
            // Its own list: the groups' parsers tell a bad group by the errors they add, and a list that already holds
            // the same error (Validate parsed the group above) would not grow.
            var own = new Problems();
            module.Check(own);
            problems.Include(own);
        }
        if (GitRepositories is { Length: > 0 })
            Check(new Extensions.Git.BackupGitRepositories { Repositories = GitRepositories }, Settings.ModuleGroup.Git);
        if (MboxFiles is { Length: > 0 } || MboxDirectories is { Length: > 0 })
            Check(new Extensions.Mbox.BackupMbox { MboxFiles = MboxFiles, MboxDirectories = MboxDirectories }, Settings.ModuleGroup.Mbox);
        if (SubversionRepositories is { Length: > 0 })
            Check(new Extensions.Subversion.BackupSubversion { Repositories = SubversionRepositories }, Settings.ModuleGroup.Subversion);
        if (MysqlDatabases is { Length: > 0 }) Extensions.Dumps.DatabaseSelection.From(MysqlDatabases, "MysqlDatabase", problems);
        if (PostgresqlDatabases is { Length: > 0 } && GroupOf(Settings.ModuleGroup.Postgresql) != null)
            Extensions.Dumps.DatabaseSelection.From(PostgresqlDatabases, "PostgresqlDatabase", problems);
        foreach (var (sites, type, group) in new[] { (TracSites, "TracSite", Settings.ModuleGroup.Trac),
                     (MediawikiSites, "MediawikiSite", Settings.ModuleGroup.Mediawiki), (WordpressSites, "WordpressSite", Settings.ModuleGroup.Wordpress) })
            if (sites is { Length: > 0 } && GroupOf(group) != null)
                foreach (var site in sites) Values.AbsolutePath(site.ItemSpec, type, problems);
    }

    /// <summary>This machine's name as BackupPeer's default computes it (the short host name, lower case).</summary>
    internal static string HostPeerName() => Environment.MachineName.Split('.')[0].ToLowerInvariant();

    protected override bool Run()
    {
        var problems = new Problems();
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        var ssh = Settings.SshSettings.Parse(SshSettings, problems);
        Mailer.Parse(MailSettings, problems);
        Settings.PurgeSettings.Parse(PurgeSettings, problems);

        var hasCollectItems = (CollectDirectories?.Length ?? 0) + (CollectFiles?.Length ?? 0) > 0;
        // -p:BackupPeer=web1 on another machine checks web1's configuration, but web1's folders and files are on web1's
        // disk: they are checked only there (a missing /srv/www on the master says nothing about web1).
        var elsewhere = !string.IsNullOrWhiteSpace(ThisPeer)
            && !string.Equals(ThisPeer.Trim(), HostPeerName(), StringComparison.OrdinalIgnoreCase);
        if (elsewhere)
            Log.LogMessageFromResources(MessageImportance.High, "Validate.Elsewhere", ThisPeer!.Trim(), HostPeerName());
        var collect = CollectConfiguration.Parse(this, problems, checkSources: !elsewhere);
        if (MysqlDatabases is { Length: > 0 })
            Extensions.Mysql.MysqlDump.ParseSettings(MysqlSettings, problems, onThisMachine: !elsewhere);
        var store = Store.StoreSettings.Parse(StoreSettings, run, StagingDir, WorkingDir, CollectDir, problems);
        if (Settings.AmazonS3Settings.IsOn(S3Settings)) Settings.AmazonS3Settings.Parse(S3Settings, problems);
        if (Settings.EncryptSettings.IsOn(EncryptSettings)) Settings.EncryptSettings.Parse(EncryptSettings, problems);
        if (Settings.SplitSettings.IsOn(SplitSettings)) Settings.SplitSettings.Parse(SplitSettings, problems);
        if (Settings.CapacitySettings.IsOn(CapacitySettings)) Settings.CapacitySettings.Parse(CapacitySettings, problems);
        foreach (var module in ModuleSettings ?? [])
            Settings.ModuleGroup.Of(module)?.Parse(module, problems);
        CheckModuleItems(problems);
        Settings.SpanSettings.Parse(SpanSettings, problems);
        Settings.VerifySettings.Parse(VerifySettings, problems);
        Settings.ReportSettings.Parse(ReportSettings, problems);
        Settings.ScheduleSettings.Parse(ScheduleSettings, problems, (BackupServers?.Length ?? 0) + (RequestClients?.Length ?? 0) > 0,
            checkUsers: !elsewhere);
        Settings.RequestSettings.Parse(RequestSettings, problems);
        Settings.ProgramSettings.Parse(ProgramSettings, problems);
        Settings.RestoreSettings.Parse(RestoreSettings, problems);
        Settings.BrowseSettings.Parse(BrowseSettings, problems);
        if (SyncSettings != null) Settings.SyncSettings.Parse(SyncSettings, problems);
        if (!string.Equals(BackupLog?.Trim(), "false", StringComparison.OrdinalIgnoreCase))
            Settings.LogSettings.Parse(LogSettings, problems, checkAccounts: !elsewhere);
        Deploy.RunActionHooks.Check(ActionHooks ?? [], problems);
        // The request queue's items, read as SendRequests and ProcessRequests read them (with the ssh group's timeouts).
        if (ssh != null)
        {
            var endpoints = Requests.SshDefaults.From(ssh);
            Requests.BackupServerConfig.Read(BackupServers, endpoints, problems);
            Requests.RequestClientConfig.Read(RequestClients, endpoints, problems);
        }
        // A client machine may have no peers of its own to stage; a master without peers is caught by Stage.
        var peers = Peers is { Length: > 0 } ? PeerItems.Read(Peers, (r, a) => problems.Error(r, a), ssh) : new List<StagePeer>();
        foreach (var peer in Peers ?? Array.Empty<ITaskItem>()) Values.UnknownMetadata(peer, "Peer", problems, PeerItems.Metadata);
        var purgeTargets = PurgeItems.Read(PurgeDirectories, (r, a) => problems.Error(r, a));
        if (!string.IsNullOrWhiteSpace(Role))
        {
            if (BackupBuild.Tasks.Deploy.Schedule.ParseRole(Role) is not { } role) problems.Error("Deploy.BadRole", Role);
            else if (BackupBuild.Tasks.Deploy.Schedule.RoleDisagreement(role, Peers ?? Array.Empty<ITaskItem>(), ThisPeer ?? "") is { } why)
                problems.Warning("Deploy.RoleDisagrees", Role.Trim(), why);
        }

        // Configurations that feed on themselves (BKP1600-BKP1603) and folders Purge must never empty (BKP5030-BKP5035).
        if (collect != null) SelfFeeding.CheckCollected(collect.Sources, Outputs(), (r, a) => problems.Error(r, a));
        SelfFeeding.CheckStaging(StagingDir, peers.Where(p => p.Type == PeerType.Local).Select(p => (p.Name, p.CollectDir)),
            (r, a) => problems.Error(r, a));
        var guard = new PurgeGuardContext(ProjectDirectory, CheckoutDirectory,
            (CollectDirectories ?? Array.Empty<ITaskItem>()).Select(i => i.ItemSpec).Where(p => p.StartsWith('/')).ToList(), WorkingDir);
        foreach (var target in purgeTargets)
            PurgeGuard.Check(target.Path, target.Path, guard, (r, a) => problems.Error(r, a));
        if (run != null && RunDateCheck.AheadOfSystemClock(run.RunDate, run.Clock) is { } systemNow)
            problems.Warning("Purge.RunDateAhead", run.RunDate, systemNow);

        if (!elsewhere)
        {
            CheckWritable(WorkingDir, "WorkingDir", problems);
            if (hasCollectItems) CheckWritable(CollectDir, "CollectDir", problems);
            CheckWritable(StagingDir, "StagingDir", problems);
            if (store is { Device: null }) CheckWritable(Path.GetDirectoryName(store.ImageFile), "StoreImageFile", problems);
            if (store is { Device: { } device }) Store.Media.DriveCheck.Check(device, store.Xorriso, problems);
        }
        if (collect != null && !elsewhere)
            foreach (var s in collect.Sources.Where(s => !s.IsFile))
                if (!CanRead(s.Path)) problems.Error("Validate.Unreadable", s.ItemType, s.Path);

        problems.LogTo(Log);
        var errors = problems.All.Count(p => !p.IsWarning);
        if (errors > 0)
        {
            Log.LogErrorWithCodeFromResources("Validate.NotValid", errors, problems.All.Count - errors);
            return false;
        }
        Progress("Validate.Valid", problems.All.Count);
        return true;
    }

    /// <summary>An existing folder must be writable; a missing one must be creatable by the actions.</summary>
    /// <summary>What the backup writes; none of it may lie inside a collected folder (as Collect checks).</summary>
    private IEnumerable<(string Name, string? Path)> Outputs() => new[]
    {
        ("CollectDir", CollectDir), ("StagingDir", StagingDir), ("WorkingDir", WorkingDir),
        ("StoreImageFile", StoreSettings?.GetMetadata("StoreImageFile")),
    };

    private static void CheckWritable(string? dir, string name, Problems problems)
    {
        if (string.IsNullOrEmpty(dir) || !dir.StartsWith('/')) return;
        var existing = dir;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing.TrimEnd('/')) is { } parent) existing = parent;
        if (File.Exists(dir)) problems.Error("Validate.NotADirectory", name, dir);
        else if (!CanWrite(existing)) problems.Error("Validate.NotWritable", name, dir, existing);
    }

    private static bool CanRead(string dir)
    {
        try
        {
            using var e = Directory.EnumerateFileSystemEntries(dir).GetEnumerator();
            e.MoveNext();
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return false; }
    }

    private static bool CanWrite(string dir)
    {
        var probe = Path.Combine(dir, AtomicFile.TempPrefix + "validate-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return false; }
    }
}
