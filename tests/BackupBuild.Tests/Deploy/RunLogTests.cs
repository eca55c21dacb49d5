using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Support.BackupProject;

namespace BackupBuild.Tests.Deploy;

/// <summary>The run log: start, each action's outcome and the end status of every run, at any console verbosity.</summary>
public class RunLogTests
{
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
        Assert.Matches(@"^INFO  run started: backup\.proj -t:All on " + Regex.Escape(Environment.MachineName) + @" \(BackupPeer master\) as ", lines[0]);
        var outcomes = lines.Skip(1).Select(l => l[6..]).ToList();
        // All starts before its first action (BeforeAll) and ends after its last.
        Assert.Equal(["All: started", "Collect: started", "Collect: succeeded", "Stage: started", "Stage: succeeded", "Store: started",
            "Store: succeeded", "Purge: started", "Purge: succeeded", "All: succeeded", "run ended: succeeded"],
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
        // The failed line names the hook's coded error (the run logger saw it), not a reason of its own.
        Assert.Contains(lines, l => l.StartsWith("Stage: BKP9044: The pre-action hook \"mount-disk\" of Stage failed (exit status 4)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Stage: failed (BKP9044: The pre-action hook \"mount-disk\" of Stage failed (exit status 4)", StringComparison.Ordinal));
        Assert.Contains("All: failed (Stage failed)", lines);
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
    public void A_task_error_is_one_line_with_its_action_code_peer_and_message_and_the_report_lists_it_and_the_failed_run_once()
    {
        using var t = new TempDir();
        var laptopCollect = t.Dir("laptop/collect");
        File.WriteAllText(Path.Combine(laptopCollect, "home.tar.gz"), "collected, but never marked ready");
        var p = PoolOfOne(t).Item("Peer", "laptop", ("Type", "local"), ("CollectDir", laptopCollect));
        var log = t["backupbuild.log"];
        p.Property("BackupLogFile", log);
        p.Switches.Add("-v:q");
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error BKP3023", run.Output);

        var lines = Messages(log).ToList();
        Assert.Matches(@"^INFO  run started: backup\.proj -t:All on " + Regex.Escape(Environment.MachineName) + @" \(BackupPeer master\) as .*, run date 2026-11-24$", lines[0]);
        var problem = Assert.Single(lines, l => l.StartsWith("ERROR Stage: BKP3023 ", StringComparison.Ordinal));
        Assert.True(lines.Count(l => l.Contains("BKP3023")) == 2, string.Join("\n", lines)); // and the reason of "Stage: failed"
        Assert.Equal($"ERROR Stage: BKP3023 laptop: Peer \"laptop\" was not ready to be staged: there is no cback.collect in \"{laptopCollect}\".", problem);
        Assert.Contains($"ERROR Stage: failed (BKP3023 laptop: Peer \"laptop\" was not ready to be staged: there is no cback.collect in \"{laptopCollect}\".)", lines);
        Assert.Contains("ERROR All: failed (Stage failed)", lines);
        Assert.StartsWith("ERROR run ended: failed (Stage, All)", lines[^1]);
        // Every problem line parses back into its parts (what the report reads).
        var parsed = BackupBuild.Tasks.Deploy.RunLogLine.ParseProblem(problem[6..])!;
        Assert.Equal(("Stage", "BKP3023", "laptop"), (parsed.Action, parsed.Code, parsed.Peer));

        // Stage again the same day (cron retried): the same failure, a second failed run.
        Assert.NotEqual(0, p.Run("Stage", "BackupRunDate=2026-11-24T02:00").ExitCode);
        var report = p.Run("Report", "BackupRunDate=2026-11-24T06:00");
        Assert.True(report.ExitCode == 0, report.All);
        // The Report run has its own outcome line, and nothing after it but the run's end.
        var reportRun = Messages(log).SkipWhile(l => !l.Contains("run started: backup.proj -t:Report")).ToList();
        Assert.StartsWith("INFO  Report: succeeded (", reportRun[^2]);
        Assert.StartsWith("INFO  run ended: succeeded after ", reportRun[^1]);
        Assert.DoesNotContain(Messages(log), l => l.Contains("not logged"));
        var text = File.ReadAllText(Path.Combine(p.Root, "report.txt"));
        var failure = Assert.Single(text.Split('\n'), l => l.Contains("BKP3023"));
        Assert.Equal($"  failure  2026-11-24 laptop: BKP3023: Peer \"laptop\" was not ready to be staged: there is no cback.collect in \"{laptopCollect}\". (Stage)", failure);
        Assert.DoesNotContain("see the build output", text);
        Assert.DoesNotContain(": failed (", text);
        // The two failed runs (and the report's own, still running) are counted as runs, each failed one once.
        Assert.Contains("3 runs in the run log, 2 failed", text);
        // The staged day without laptop's cback.collect is a hole of that day.
        Assert.Contains("Days with a hole: 2026-11-24 (laptop)", text);
        Assert.Contains("failure  2026-11-24 laptop: BKP8215: staged without cback.collect", text);
        // And laptop, never staged while master was, is marked.
        Assert.Contains("failure  2026-11-24 laptop: BKP8211: never staged, while the pool's newest staged day is 2026-11-24", text);
        Assert.Matches(@"\nlaptop: collected never, staged never, stored never, .* \[failure: BKP8211\]", text);
        Assert.Matches(@"\n3 failures, \d+ warnings; ", text);
    }

    [Fact]
    public void Tasks_in_a_task_host_process_log_their_problems_into_the_runs_log()
    {
        using var t = new TempDir();
        var laptopCollect = t.Dir("laptop/collect");
        var p = PoolOfOne(t).Item("Peer", "laptop", ("Type", "local"), ("CollectDir", laptopCollect));
        var log = t["backupbuild.log"];
        p.Property("BackupLogFile", log).Property("BackupUseTaskHost", "true");
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error BKP3023", run.Output);

        var raw = File.ReadAllLines(log);
        var pid = System.Text.RegularExpressions.Regex.Match(raw[0], @"\[(\d+)\]").Groups[1].Value;
        var problem = Assert.Single(raw, l => l.Contains("] ERROR Stage: BKP3023 laptop: "));
        Assert.Contains($"[{pid}] ERROR", problem); // the build's run, although a task host process wrote it
        Assert.All(raw, l => Assert.Contains($"[{pid}] ", l));
        // master was not collected either: the failed line gives the first error and counts the others.
        Assert.StartsWith("ERROR Stage: failed (BKP3023 ", Messages(log)[^2]);
        Assert.EndsWith("; 1 more above)", Messages(log)[^2]);
        Assert.StartsWith("ERROR run ended: failed (Stage)", Messages(log)[^1]);
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
