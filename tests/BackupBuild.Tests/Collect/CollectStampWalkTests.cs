using System.Text.RegularExpressions;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// When Collect runs whatever the stamp's walk would find (no collect recorded yet, or its archives are gone), the stamp
/// task does not walk: Collect walks as it archives and writes the stamp of that walk (docs/development.md, "Up to
/// date"). That stamp must be the one the stamp task's own walk computes, or the next run would collect again.
/// </summary>
public class CollectStampWalkTests
{
    private static bool Skipped(Tool.Result run) =>
        run.Output.Contains("Skipping target \"CoreCollect\" because all output files are up-to-date");

    private static string Stamp(BackupProject p) => File.ReadAllText(p.WorkingDir + "collect.stamp");

    [Fact]
    public void A_collect_that_walks_for_the_stamp_leaves_the_stamp_the_stamp_task_computes_so_the_next_run_is_up_to_date()
    {
        using var t = new TempDir();
        t.File("src/split/one/a.txt", "a\n");
        t.File("src/split/two/b.txt", "b\n");
        t.File("src/split/top.txt", "top\n");
        t.File("src/tree/kept.txt", "kept\n");
        t.File("src/tree/skipped/x.txt", "excluded\n");
        t.File("src/tree/ignored/.cbignore", "");
        t.File("src/tree/ignored/y.txt", "ignored\n");
        File.CreateSymbolicLink(t["src/tree/link"], "kept.txt");
        t.File("src/single.conf", "single\n");
        var p = new BackupProject(t.Path)
            .Item("CollectDirectory", t["src/split"], ("RecursionLevel", "1"), ("ArchiveMode", "tarzst"))
            .Item("CollectDirectory", t["src/tree"], ("CollectMode", "incr"), ("ExcludePaths", t["src/tree/skipped"]))
            .Item("CollectFile", t["src/single.conf"], ("ArchiveMode", "tar"));

        var first = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.False(Skipped(first), first.All);
        var stamp = Stamp(p);
        Assert.Matches(new Regex("^[0-9a-f]{64}\n$"), stamp);

        // The stamp task walks now (the collect is in place) and finds the stamp Collect wrote.
        var same = p.Run("Collect", "BackupRunDate=2026-11-24T02:00");
        Assert.True(same.ExitCode == 0, same.All);
        Assert.True(Skipped(same), same.All);
        Assert.Equal(stamp, Stamp(p));

        // The archives gone: Collect runs again, walks, and writes the same stamp for the same tree and day.
        File.Delete(p.CollectDir + "cback.collect");
        var again = p.Run("Collect", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.False(Skipped(again), again.All);
        Assert.Equal(stamp, Stamp(p));
        Assert.True(Skipped(p.Run("Collect", "BackupRunDate=2026-11-24T04:00")));

        // A change is still found by the stamp task's walk.
        File.AppendAllText(t["src/split/two/b.txt"], "more\n");
        var changed = p.Run("Collect", "BackupRunDate=2026-11-24T05:00");
        Assert.True(changed.ExitCode == 0, changed.All);
        Assert.False(Skipped(changed), changed.All);
        Assert.NotEqual(stamp, Stamp(p));
    }

    [Fact]
    public void A_machine_with_only_module_dumps_is_up_to_date_after_its_first_collect()
    {
        using var t = new TempDir();
        var p = new BackupProject(t.Path);
        t.File("var/collect/mysqldump.txt.bz2", "dump");

        var first = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.True(File.Exists(p.CollectDir + "cback.collect"), first.All);
        Assert.Matches(new Regex("^[0-9a-f]{64}\n$"), Stamp(p));
        var again = p.Run("Collect", "BackupRunDate=2026-11-24T02:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.True(Skipped(again), again.All);
    }
}
