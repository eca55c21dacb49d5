using BackupBuild.Tasks.Report;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>How the report reads the run log: run by run, each failure once, each failed run once.</summary>
[Trait("Tier", "Fast")]
public class ReportLogsTests
{
    private static readonly DateTime From = new(2026, 11, 1);

    [Fact]
    public void A_failed_run_of_an_older_BackupBuild_is_one_failure_and_one_failed_run_not_one_per_failed_line()
    {
        var logs = new ReportLogs();
        logs.ReadRunLog(new[]
        {
            "2026-11-24T00:30:01+00:00 [4242] INFO  run started: backup.proj -t:All on master as root",
            "2026-11-24T00:30:01+00:00 [4242] INFO  Collect: started",
            "2026-11-24T00:30:02+00:00 [4242] INFO  Collect: succeeded (1 s)",
            "2026-11-24T00:30:02+00:00 [4242] INFO  Stage: started",
            "2026-11-24T00:30:03+00:00 [4242] ERROR Stage: failed (an error stopped it; see the build output)",
            "2026-11-24T00:30:03+00:00 [4242] ERROR All: failed (it did not start: a step before it failed)",
            "2026-11-24T00:30:03+00:00 [4242] ERROR run ended: failed (Stage, All) after 2 s",
        }, From);
        var e = Assert.Single(logs.Events);
        Assert.Equal(("failure", "BKP8217", new DateTime(2026, 11, 24)), (e.Level, e.Code, e.Day!.Value));
        Assert.Contains("backup.proj -t:All on master as root", e.Text);
        Assert.Contains("Stage: failed (an error stopped it; see the build output)", e.Text);
        Assert.Equal((1, 1), (logs.Runs, logs.FailedRuns));
    }

    [Fact]
    public void Problems_are_listed_once_per_day_whatever_the_runs_and_a_build_log_adds_only_what_the_run_log_lacks()
    {
        var logs = new ReportLogs();
        logs.ReadRunLog(new[]
        {
            // Two interleaved runs (cron and a hand run) meet the same host key error; a third run, the next day, again.
            "2026-11-24T00:30:01+00:00 [10] INFO  run started: backup.proj -t:Stage on master as root, run date 2026-11-24",
            "2026-11-24T00:30:01+00:00 [11] INFO  run started: backup.proj -t:Stage on master as root, run date 2026-11-24",
            "2026-11-24T00:30:02+00:00 [10] ERROR Stage: BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.",
            "2026-11-24T00:30:02+00:00 [11] ERROR Stage: BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.",
            "2026-11-24T00:30:02+00:00 [10] WARN  Stage: BKP3024 desk: Peer \"desk\" was not ready to be staged.",
            "2026-11-24T00:30:03+00:00 [10] ERROR Stage: failed (BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.)",
            "2026-11-24T00:30:03+00:00 [11] ERROR Stage: failed (BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.)",
            "2026-11-24T00:30:03+00:00 [10] ERROR run ended: failed (Stage) after 2 s",
            "2026-11-24T00:30:03+00:00 [11] ERROR run ended: failed (Stage) after 2 s",
            "2026-11-25T00:30:01+00:00 [10] INFO  run started: backup.proj -t:Stage on master as root, run date 2026-11-25",
            "2026-11-25T00:30:02+00:00 [10] ERROR Stage: BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.",
            "2026-11-25T00:30:03+00:00 [10] ERROR run ended: failed (Stage) after 2 s",
            // Before the window: not read.
            "2026-10-01T00:30:01+00:00 [9] INFO  run started: backup.proj -t:Stage on master as root, run date 2026-10-01",
            "2026-10-01T00:30:02+00:00 [9] ERROR Stage: BKP3052 laptop: Peer \"laptop\" did not present the host key known for it.",
            "2026-10-01T00:30:03+00:00 [9] ERROR run ended: failed (Stage) after 2 s",
        }, From);
        logs.ReadBuildLog(new[]
        {
            "/etc/backupbuild/targets/BackupBuild.targets(84,5): error BKP3052: Peer \"laptop\" did not present the host key known for it. [/etc/backupbuild/backup.proj]",
            "/etc/backupbuild/targets/BackupBuild.targets(90,5): warning BKP4002: Peer \"desk\": something only the build log has. [/etc/backupbuild/backup.proj]",
        }, "store-build.log", new[] { "laptop", "desk" });

        Assert.Equal((3, 3), (logs.Runs, logs.FailedRuns));
        var lines = logs.Events.Select(e => $"{e.Level} {e.Day:yyyy-MM-dd} {e.Peer} {e.Code} {e.Where}").ToList();
        Assert.Equal(new[]
        {
            "failure 2026-11-24 laptop BKP3052 Stage",
            "warning 2026-11-24 desk BKP3024 Stage",
            "failure 2026-11-25 laptop BKP3052 Stage",
            "warning  desk BKP4002 store-build.log",
        }, lines);
        Assert.Equal("Peer \"desk\": something only the build log has.", logs.Events[^1].Text);
    }
}
