using BackupBuild.Tasks.Collect;
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
            Plain["PurgeUnstagedCollect"] = PropsDefaults.Value("PurgeUnstagedCollect");
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
        public ITaskItem[] Peers => [Items.Of("peer", ("Type", "local"), ("CollectDir", Temp["peer/collect"]))];
        public ITaskItem[] Sources => [Items.Of(Temp["src"])];

        public void Dispose() => Temp.Dispose();
    }

    public static string? GroupOf(string name) =>
        RunSettings.Names.Contains(name) ? RunSettings.ItemType
        : CollectConfiguration.SettingsNames.Contains(name) ? CollectConfiguration.SettingsItemType
        : StoreSettings.Names.Contains(name) ? StoreSettings.ItemType
        : SshSettings.Names.Contains(name) ? SshSettings.ItemType
        : Mailer.Names.Contains(name) ? Mailer.ItemType
        : MysqlDump.SettingsNames.Contains(name) ? MysqlDump.SettingsItemType
        : null;

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
        if (Uses(RunSettings.ItemType, "WorkingDir", "PurgeUnstagedCollect"))
            yield return ("PurgeFiles", p => new PurgeFiles
            {
                WorkingDir = p.Plain["WorkingDir"], RunSettings = p.Run, CollectDir = p.Plain["CollectDir"], StagingDir = p.Plain["StagingDir"],
                PurgeUnstagedCollect = p.Plain["PurgeUnstagedCollect"],
            });
        if (Uses(Mailer.ItemType))
            yield return ("WriteBackupReport", p => new WriteBackupReport
            {
                StagingDir = p.Plain["StagingDir"], ReportFile = p.Temp["report.html"], RunSettings = p.Run, MailSettings = p.Mail,
                Peers = p.Peers, WorkingDir = p.Plain["WorkingDir"],
            });
        if (Uses(MysqlDump.SettingsItemType))
            // No MysqlDatabase item: the task checks its settings and stops before running the dump program.
            yield return ("MysqlDump", p => new MysqlDump { CollectDir = p.Plain["CollectDir"], MysqlSettings = p.Mysql, Databases = [] });
    }

    private static ValidateConfiguration Validate(Pool p) => new()
    {
        CollectDirectories = p.Sources, Peers = p.Peers, CollectDir = p.Plain["CollectDir"], WorkingDir = p.Plain["WorkingDir"],
        StagingDir = p.Plain["StagingDir"], RunSettings = p.Run, CollectSettings = p.Collect, StoreSettings = p.Store, SshSettings = p.Ssh,
        MailSettings = p.Mail, MysqlSettings = p.Mysql, MysqlDatabases = [Items.Of("shop")], PurgeUnstagedCollect = p.Plain["PurgeUnstagedCollect"],
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

    [Fact]
    public void The_corpus_covers_every_setting_of_every_group_that_is_parsed()
    {
        // Every group setting but free text (names, programs, options) and the run date's "now" has a refused value.
        var parsedButFree = new HashSet<string>
        {
            "RemoteUser", "SshIdentityFile", "SshKnownHostsFile", "SshCiphers", "RemoteShell", "RemoteCopy", "ManagedActions",
            "ManagedProject", "ManagedDotnet", "StoreXorrisoPath", "IgnoreFile",
            "MailSendmail", "MailSendmailArguments", "MailSmtpHost", "MailFrom", "MysqlDumpProgram", "MysqlDumpArguments",
        };
        var names = RunSettings.Names.Concat(CollectConfiguration.SettingsNames).Concat(StoreSettings.Names).Concat(SshSettings.Names)
            .Concat(Mailer.Names).Concat(MysqlDump.SettingsNames);
        var missing = names.Where(n => !parsedButFree.Contains(n) && !SettingsCorpus.All.Any(e => e.Setting == n && e.Code != null)).ToList();
        Assert.True(missing.Count == 0, "no bad value in the corpus for " + string.Join(", ", missing));
    }
}
