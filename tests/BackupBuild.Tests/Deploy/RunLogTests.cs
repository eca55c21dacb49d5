using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Deploy;

/// <summary>The run log: start, each action's outcome and the end status of every run, at any console verbosity.</summary>
public class RunLogTests
{
    private static BackupProject PoolOfOne(TempDir t)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        return new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
    }

    private static string[] Messages(string log) =>
        File.ReadAllLines(log).Select(l => l[(l.IndexOf("] ", StringComparison.Ordinal) + 2)..]).ToArray();

    [Fact]
    public void A_quiet_successful_run_logs_its_start_every_action_and_its_end_in_a_new_log_file_with_the_configured_owner_and_mode()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var log = t["logs/backupbuild.log"];
        // As root (CI) the file is given away as Cedar's root:adm would be; otherwise to ourselves.
        var user = Posix.IsRoot ? "nobody" : Environment.UserName;
        p.Property("BackupLogFile", log).Property("BackupLogUser", user).Property("BackupLogMode", "0604");
        p.Switches.Add("-v:q");
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var lines = Messages(log);
        Assert.Matches(@"^INFO  run started: backup\.proj -t:All on master as ", lines[0]);
        var outcomes = lines.Skip(1).Select(l => l[6..]).ToList();
        Assert.Equal(["Collect: started", "Collect: succeeded", "Stage: started", "Stage: succeeded", "Store: started",
            "Store: succeeded", "Purge: started", "Purge: succeeded", "All: started", "All: succeeded", "run ended: succeeded"],
            outcomes.Select(o => o.Split(" (")[0].Split(" after ")[0]));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \[\d+\] INFO  ", File.ReadAllLines(log)[0]);

        var stat = Posix.LStat(log, out _)!.Value;
        Assert.Equal(Convert.ToUInt32("604", 8), stat.Permissions);
        Assert.Equal(user, Posix.UserName(stat.Uid));

        // A second run appends, and leaves owner and mode alone.
        var again = p.Run("Purge");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(lines.Length + 4, File.ReadAllLines(log).Length);
        Assert.Equal("INFO  run ended: succeeded", Messages(log)[^1].Split(" after ")[0]);
    }

    [Fact]
    public void By_default_a_checkout_logs_beside_backup_proj_and_BackupLog_false_logs_nothing()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var run = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.True(File.Exists(Path.Combine(p.Directory, "logs/backupbuild.log")), run.All);

        using var t2 = new TempDir();
        var quiet = PoolOfOne(t2).Property("BackupLog", "false");
        var run2 = quiet.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run2.ExitCode == 0, run2.All);
        Assert.False(Directory.Exists(Path.Combine(quiet.Directory, "logs")));
    }

    [Fact]
    public void A_failing_pre_hook_stops_its_action_with_BKP9044_and_the_log_records_the_failure_and_the_end_status()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var log = t["backupbuild.log"];
        var marker = t["hooks.txt"];
        p.Property("BackupLogFile", log)
         .Item("ActionHook", "note-collect", ("Action", "Collect"), ("Phase", "before"), ("Command", $"echo \"before $BACKUP_ACTION\" >> {marker}"))
         .Item("ActionHook", "after-collect", ("Action", "Collect"), ("Phase", "after"), ("Command", $"echo \"after $BACKUP_ACTION\" >> {marker}"))
         .Item("ActionHook", "mount-disk", ("Action", "Stage"), ("Phase", "before"), ("Command", "echo the disk is not there >&2; exit 4"));
        p.Switches.Add("-v:q");
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error BKP9044", run.Output);
        Assert.Contains("\"mount-disk\"", run.Output);
        Assert.Contains("the disk is not there", run.Output);
        Assert.Equal(["before Collect", "after Collect"], File.ReadAllLines(marker));
        Assert.False(Directory.Exists(Path.Combine(p.StagingDir, "2026/11/24")), "Stage ran although its pre-hook failed");

        var lines = Messages(log).Select(l => l[6..]).ToList();
        Assert.Contains(lines, l => l.StartsWith("Collect: succeeded"));
        Assert.Contains("Stage: failed (pre-action hook \"mount-disk\" failed: exit status 4)", lines);
        Assert.Contains("All: failed (it did not start: a step before it failed)", lines);
        Assert.StartsWith("run ended: failed (Stage, All)", lines[^1]);
        Assert.DoesNotContain(lines, l => l.StartsWith("Store"));
    }

    [Fact]
    public void An_action_that_fails_by_itself_is_logged_as_failed()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var log = t["backupbuild.log"];
        p.Property("BackupLogFile", log).Property("CompressionLevel", "extreme");
        var run = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        var lines = Messages(log).Select(l => l[6..]).ToList();
        Assert.StartsWith("run ended: failed (Collect)", lines[^1]);
    }

    [Fact]
    public void Hook_problems_and_a_hook_that_runs_too_long_are_coded_errors()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t)
            .Item("ActionHook", "no-phase", ("Action", "Purge"), ("Phase", "during"), ("Command", "true"))
            .Item("ActionHook", "no-command", ("Action", "Purge"), ("Phase", "before"))
            .Item("ActionHook", "bad-timeout", ("Action", "Purge"), ("Phase", "after"), ("Command", "true"), ("Timeout", "soon"));
        var run = p.Run("Purge");
        Assert.NotEqual(0, run.ExitCode);
        foreach (var code in new[] { "BKP9041", "BKP9042", "BKP9043" }) Assert.Contains("error " + code, run.Output);

        using var t2 = new TempDir();
        var slow = PoolOfOne(t2).Item("ActionHook", "slow", ("Action", "Purge"), ("Phase", "before"), ("Command", "sleep 30"), ("Timeout", "1"));
        var started = DateTime.UtcNow;
        var run2 = slow.Run("Purge");
        Assert.NotEqual(0, run2.ExitCode);
        Assert.Contains("error BKP9044", run2.Output);
        Assert.Contains("did not finish within 1 s", run2.Output);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(25));
    }

    [Fact]
    public void The_shipped_logrotate_snippet_is_valid()
    {
        Tool.Require("logrotate");
        using var t = new TempDir();
        var snippet = Path.Combine(Repo.Root, "deploy/logrotate.d/backupbuild");
        // logrotate -d reads and checks the file without rotating anything; its own state file stays in the temp folder.
        var run = Tool.Run("logrotate", "-d", "-s", t["state"], snippet);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("/var/log/backupbuild.log", run.All);
        Assert.DoesNotContain("error", run.All, StringComparison.OrdinalIgnoreCase);
    }
}
