using BackupBuild.Tasks.Deploy;
using BackupBuild.Tests.Support;
using Microsoft.Build.Framework;
using Xunit;

namespace BackupBuild.Tests.Deploy;

/// <summary>InstallSchedule / RemoveSchedule: this machine's cron entries, by role, written once.</summary>
public class ScheduleTests
{
    private static (WriteSchedule Task, FakeBuildEngine Engine) Task(string file, params ITaskItem[] peers)
    {
        var engine = new FakeBuildEngine();
        // The props' times; the optional lines off unless a test sets them (Set).
        var task = new WriteSchedule
        {
            BuildEngine = engine, ProjectFile = "/etc/backupbuild/backup.proj", ThisPeer = "master", Peers = peers,
            ScheduleSettings = PropsDefaults.Schedule(("ScheduleFile", file), ("ScheduleDotnet", "/usr/bin/dotnet"), ("ScheduleUser", "root"),
                ("ScheduleReportTime", "none"), ("ScheduleVerifyTime", "none"), ("ScheduleRequestAllTime", "none"), ("ScheduleRequestSummaryTime", "none"),
                ("ScheduleRequestUser", "root")),
        };
        return (task, engine);
    }

    /// <summary>A setting of the task's schedule group (as -p:Name=value gives it).</summary>
    private static void Set(WriteSchedule task, string setting, string value) => task.ScheduleSettings!.SetMetadata(setting, value);

    private static string[] Lines(string file) =>
        File.ReadAllLines(file).Where(l => l.Length > 0 && char.IsDigit(l[0]) || l.StartsWith("*/")).ToArray();

    [Fact]
    public void A_pool_of_one_runs_All_a_master_stages_stores_and_purges_a_client_collects_then_purges()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];

        var (pool, e1) = Task(file, Items.Of("master", ("Type", "local")));
        Assert.True(pool.Execute(), e1.AllText);
        Assert.Equal("pool", pool.DetectedRole);
        Assert.Equal(["30 00 * * * root cd /etc/backupbuild && /usr/bin/dotnet msbuild /etc/backupbuild/backup.proj -t:All -nologo -v:m -tl:off"], Lines(file));

        var (master, e2) = Task(file, Items.Of("master", ("Type", "local")), Items.Of("web", ("Type", "remote")));
        Assert.True(master.Execute(), e2.AllText);
        Assert.Equal("master", master.DetectedRole);
        Assert.Equal(["30 00 * * * root", "30 02 * * * root", "30 04 * * * root", "30 06 * * * root"], Lines(file).Select(l => l[..16]));
        Assert.Equal(["-t:Collect", "-t:Stage", "-t:Store", "-t:Purge"], Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));

        // A master that does not back itself up (no Peer for itself, nothing to collect) does not collect.
        var (remoteOnly, e3) = Task(file, Items.Of("web", ("Type", "remote")));
        Assert.True(remoteOnly.Execute(), e3.AllText);
        Assert.Equal(["-t:Stage", "-t:Store", "-t:Purge"], Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));

        var (client, e4) = Task(file);
        Assert.True(client.Execute(), e4.AllText);
        Assert.Equal("client", client.DetectedRole);
        Assert.Equal(["-t:Collect", "-t:Purge"], Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));
        Assert.StartsWith("30 00 ", Lines(file)[0]);
        Assert.StartsWith("30 06 ", Lines(file)[1]);
    }

    [Fact]
    public void Request_queue_entries_follow_the_BackupServer_and_RequestClient_items_and_BackupRole_overrides_detection()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];
        var (task, engine) = Task(file, Items.Of("master", ("Type", "local")));
        task.Role = "client";
        task.BackupServers = [Items.Of("backup.example.org")];
        task.RequestClients = [Items.Of("laptop")];
        Set(task, "ScheduleRequestsEveryMinutes", "10");
        Set(task, "ScheduleRequestSummaryTime", "07:00");
        Assert.True(task.Execute(), engine.AllText);
        Assert.Equal("client", task.DetectedRole);
        var lines = Lines(file);
        Assert.Contains(lines, l => l.StartsWith("*/10 * * * * root ") && l.Contains(" -t:SendRequests "));
        Assert.Contains(lines, l => l.StartsWith("*/10 * * * * root ") && l.Contains(" -t:ProcessRequests "));
        Assert.Contains(lines, l => l.StartsWith("00 07 * * * root ") && l.Contains(" -t:RequestSummary "));
        Assert.Contains("MSBUILDDISABLENODEREUSE=1", File.ReadAllLines(file));
    }

    [Fact]
    public void Bad_times_roles_users_and_file_names_are_all_reported_with_codes_and_nothing_is_written()
    {
        using var t = new TempDir();
        var file = t["cron/backup.build"];
        var (task, engine) = Task(file);
        Set(task, "ScheduleCollectTime", "25:00");
        Set(task, "SchedulePurgeTime", "every day");
        task.Role = "boss";
        Set(task, "ScheduleUser", "no-such-user-bkp");
        Assert.False(task.Execute());
        Assert.Equal(["BKP9001", "BKP9002", "BKP9002", "BKP9003", "BKP9006"], engine.ErrorCodes.Order());
        Assert.Contains("ScheduleCollectTime", engine.AllText);
        Assert.Contains("SchedulePurgeTime", engine.AllText);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Cron_fields_are_accepted_as_they_are_and_git_pull_comes_first_when_asked()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];
        var (task, engine) = Task(file);
        Set(task, "ScheduleCollectTime", "15 1 * * 1-5");
        Set(task, "ScheduleGitPull", "true");
        Assert.True(task.Execute(), engine.AllText);
        var collect = Lines(file)[0];
        Assert.StartsWith("15 1 * * 1-5 root git -C /etc/backupbuild pull --ff-only --quiet || ", collect);
    }

    [Fact]
    public void InstallSchedule_twice_through_msbuild_leaves_the_file_untouched_and_RemoveSchedule_removes_it()
    {
        using var t = new TempDir();
        var cron = t["cron.d/backupbuild"];
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("ScheduleFile", cron)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("Peer", "web", ("Type", "remote"), ("CollectDir", "/var/lib/backupbuild/collect"));
        var first = p.Run("InstallSchedule");
        Assert.True(first.ExitCode == 0, first.All);
        var bytes = File.ReadAllBytes(cron);
        var mtime = File.GetLastWriteTimeUtc(cron);
        Assert.Contains(" -t:Stage ", File.ReadAllText(cron));
        Assert.Contains(p.ProjectPath, File.ReadAllText(cron));
        Assert.Equal(Convert.ToUInt32("644", 8), BackupBuild.Tasks.Infrastructure.Posix.LStat(cron, out _)!.Value.Permissions);
        Assert.Empty(Directory.GetFiles(t["cron.d"], ".bkp-tmp-*"));

        Thread.Sleep(1100);
        var second = p.Run("InstallSchedule");
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains("up to date", second.Output);
        Assert.Equal(bytes, File.ReadAllBytes(cron));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(cron));

        var removed = p.Run("RemoveSchedule");
        Assert.True(removed.ExitCode == 0, removed.All);
        Assert.False(File.Exists(cron));
        var again = p.Run("RemoveSchedule");
        Assert.True(again.ExitCode == 0, again.All);
    }

    [Fact]
    public void The_remote_peers_layout_where_every_machine_sees_every_Peer_makes_clients_clients_and_the_master_a_master()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];
        ITaskItem[] pool =
        [
            Items.Of("backup1", ("Type", "local")), Items.Of("web1", ("Type", "remote")), Items.Of("db1", ("Type", "remote")),
        ];
        var (client, e1) = Task(file, pool);
        client.ThisPeer = "web1";
        Set(client, "ScheduleReportTime", "06:45");
        Set(client, "ScheduleVerifyTime", "30 07 * * 0");
        Assert.True(client.Execute(), e1.AllText);
        Assert.Equal("client", client.DetectedRole);
        Assert.Equal(["-t:Collect", "-t:Purge"], Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));

        var (master, e2) = Task(file, pool);
        master.ThisPeer = "backup1";
        Set(master, "ScheduleReportTime", "06:45");
        Set(master, "ScheduleVerifyTime", "30 07 * * 0");
        Assert.True(master.Execute(), e2.AllText);
        Assert.Equal("master", master.DetectedRole);
        Assert.Equal(["-t:Collect", "-t:Stage", "-t:Store", "-t:Purge", "-t:Report", "-t:Verify"],
            Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));
        Assert.Contains(Lines(file), l => l.StartsWith("45 06 * * * root ") && l.Contains(" -t:Report "));
        Assert.Contains(Lines(file), l => l.StartsWith("30 07 * * 0 root ") && l.Contains(" -t:Verify "));

        // An explicit role the items contradict is written as set, with a warning that says why.
        var (forced, e3) = Task(file, pool);
        forced.ThisPeer = "web1";
        forced.Role = "master";
        Assert.True(forced.Execute(), e3.AllText);
        Assert.Equal(["BKP9050"], e3.WarningCodes);
        Assert.Contains("remote peer", e3.AllText);
    }

    [Fact]
    public void RequestAll_follows_BackupServer_items_and_none_switches_an_optional_line_off()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];
        var (task, engine) = Task(file);
        task.BackupServers = [Items.Of("backup.example.org")];
        Set(task, "ScheduleRequestAllTime", "01:30");
        Set(task, "ScheduleReportTime", "none");
        Assert.True(task.Execute(), engine.AllText);
        Assert.Equal(["-t:Collect", "-t:Purge", "-t:RequestAll", "-t:SendRequests"],
            Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));
        Assert.Contains(Lines(file), l => l.StartsWith("30 01 * * * root ") && l.Contains(" -t:RequestAll "));

        var (pool, e2) = Task(file, Items.Of("master", ("Type", "local")));
        Set(pool, "ScheduleReportTime", "none");
        Set(pool, "ScheduleVerifyTime", "");
        Assert.True(pool.Execute(), e2.AllText);
        Assert.Equal(["-t:All"], Lines(file).Select(l => l.Split(' ').First(w => w.StartsWith("-t:"))));
    }

    [Fact]
    public void ScheduleArguments_reach_msbuild_as_whole_words_when_cron_runs_the_line_with_bin_sh()
    {
        using var t = new TempDir();
        var file = t["cron/backupbuild"];
        // A stand-in for dotnet that records the arguments it gets, one per line.
        var recorder = t["bin/dotnet"];
        Directory.CreateDirectory(Path.GetDirectoryName(recorder)!);
        File.WriteAllText(recorder, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"" + t["argv"] + "\"\n");
        File.SetUnixFileMode(recorder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (task, engine) = Task(file, Items.Of("master", ("Type", "local")));
        task.ProjectFile = t["etc/backup.proj"];
        Directory.CreateDirectory(t["etc"]);
        Set(task, "ScheduleDotnet", recorder);
        Set(task, "ScheduleArguments", "-flp:logfile=/var/log/backupbuild/run.log;append=true  \"-p:Note=two words\" -bl:/var/log/b-{}.binlog -p:Pct=50%");
        Assert.True(task.Execute(), engine.AllText);
        var line = Lines(file).Single();
        // cron: five time fields, the user, then the command, where \% stands for %.
        var command = string.Join(' ', line.Split(' ').Skip(6)).Replace("\\%", "%");
        var run = Tool.Run("/bin/sh", "-c", command);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal([t["etc/backup.proj"], "-t:All", "-nologo", "-v:m", "-tl:off",
                "-flp:logfile=/var/log/backupbuild/run.log;append=true", "-p:Note=two words", "-bl:/var/log/b-{}.binlog", "-p:Pct=50%"],
            File.ReadAllLines(t["argv"]).Skip(1));

        var (bad, e2) = Task(t["cron/other"]);
        Set(bad, "ScheduleArguments", "-p:Note=\"unclosed");
        Assert.False(bad.Execute());
        Assert.Equal(["BKP9007"], e2.ErrorCodes);
        Assert.False(File.Exists(t["cron/other"]));
    }

    [Fact]
    public void Validate_warns_when_BackupRole_disagrees_with_the_Peer_items_and_a_duplicate_peer_names_both_files()
    {
        using var t = new TempDir();
        File.WriteAllText(t["extra.props"], """
            <Project>
              <ItemGroup>
                <Peer Include="web1" Type="remote" CollectDir="/var/lib/backupbuild/collect" />
              </ItemGroup>
            </Project>
            """);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "web1")
            .Property("BackupRole", "master")
            .Raw("</ItemGroup><Import Project=\"extra.props\" /><ItemGroup>");
        var warned = p.Run("Validate");
        Assert.True(warned.ExitCode == 0, warned.All);
        Assert.Contains("warning BKP9050", warned.Output);
        Assert.Contains(t["extra.props"], warned.Output);

        p.Item("Peer", "web1", ("Type", "remote"), ("CollectDir", "/var/lib/backupbuild/collect"));
        var duplicate = p.Run("Validate");
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("error BKP3002", duplicate.Output);
        Assert.Contains(t["extra.props"], duplicate.Output);
        Assert.Contains(p.ProjectPath, duplicate.Output);
    }
}
