using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Support.BackupProject;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>
/// Up to date everywhere it can be known (docs/development.md, "Up to date"): Collect, Stage, Store and Purge skip when
/// nothing they read changed since their last successful run, `-question` says what would run without doing it, and a
/// changed file, a new day, a new peer or a run that did not finish always runs again.
/// </summary>
public class IncrementalEndToEndTests
{
    private static readonly string[] Work = ["CoreCollect", "CoreStage", "CoreStore", "CorePurge"];

    private static bool Skipped(Tool.Result run, string target) =>
        run.Output.Contains($"Skipping target \"{target}\" because all output files are up-to-date");

    [Fact]
    public void A_second_All_skips_every_action_question_reports_a_change_without_doing_it_and_the_change_runs_again()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var first = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.All(Work, w => Assert.False(Skipped(first, w), w + "\n" + first.All));

        var second = p.Run("All", "BackupRunDate=2026-11-24T03:00");
        Assert.True(second.ExitCode == 0, second.All);
        Assert.All(Work, w => Assert.True(Skipped(second, w), w + "\n" + second.All));
        p.Switches.Add("-question");
        var question = p.Run("All", "BackupRunDate=2026-11-24T03:00");
        p.Switches.Remove("-question");
        Assert.True(question.ExitCode == 0, question.All);

        // A changed file: -question names Collect and changes nothing; the real run collects, stages and stores it.
        File.AppendAllText(t["src/docs/report.txt"], "a correction\n");
        var before = Snapshot.Of(p.Root);
        p.Switches.Add("-question");
        var asked = p.Run("All", "BackupRunDate=2026-11-24T04:00");
        p.Switches.Remove("-question");
        Assert.NotEqual(0, asked.ExitCode);
        Assert.Contains("error BKP1900: Collect is not up to date: what Collect reads changed since the last collect", asked.Output);
        Assert.Equal(before, Snapshot.Of(p.Root));
        var third = p.Run("All", "BackupRunDate=2026-11-24T04:00");
        Assert.True(third.ExitCode == 0, third.All);
        Assert.All(Work, w => Assert.False(Skipped(third, w), w + "\n" + third.All));
    }

    [Fact]
    public void A_new_day_or_a_new_peer_runs_again()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        Assert.Equal(0, p.Run("All", "BackupRunDate=2026-11-24T01:00").ExitCode);
        var nextDay = p.Run("All", "BackupRunDate=2026-11-25T01:00");
        Assert.True(nextDay.ExitCode == 0, nextDay.All);
        Assert.All(Work, w => Assert.False(Skipped(nextDay, w), w + "\n" + nextDay.All));

        // A new peer: Stage runs (and fails, since the laptop never collected) although nothing else changed.
        t.Dir("laptop/collect");
        p.Item("Peer", "laptop", ("Type", "local"), ("CollectDir", t["laptop/collect"]));
        var stage = p.Run("Stage", "BackupRunDate=2026-11-25T02:00");
        Assert.NotEqual(0, stage.ExitCode);
        Assert.False(Skipped(stage, "CoreStage"), stage.All);
        Assert.Contains("BKP3023", stage.Output);
    }

    [Fact]
    public void A_run_stopped_after_the_stamp_before_the_work_finished_runs_again_with_nothing_else_changed()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        // Stops each action right after its stamp was written, as a killed run would: no .done claims success.
        p.Targets("""
            <Target Name="StopHere" AfterTargets="_BackupStoreStamp" Condition="'$(StopAfterStamp)' == 'true'">
              <Error Text="stopped after the stamp" />
            </Target>
            """);
        Assert.True(p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00").ExitCode == 0);
        var stopped = p.Run("Store", "BackupRunDate=2026-11-24T01:00", "StopAfterStamp=true");
        Assert.NotEqual(0, stopped.ExitCode);
        Assert.False(File.Exists(p.WorkingDir + "store.done"));
        Assert.False(File.Exists(p.Root + "media/backup.iso"));

        p.Switches.Add("-question");
        var asked = p.Run("Store", "BackupRunDate=2026-11-24T01:00");
        p.Switches.Remove("-question");
        Assert.NotEqual(0, asked.ExitCode);
        Assert.Contains("error BKP1900: Store is not up to date: no successful run of it is recorded", asked.Output);

        var store = p.Run("Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(store.ExitCode == 0, store.All);
        Assert.False(Skipped(store, "CoreStore"), store.All);
        Assert.True(File.Exists(p.Root + "media/backup.iso"), store.All);
        var again = p.Run("Store", "BackupRunDate=2026-11-24T01:30");
        Assert.True(Skipped(again, "CoreStore"), again.All);
    }
}
