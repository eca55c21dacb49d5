using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Days whose collect never reached the master (issue 16, points 1 and 2), through the real `dotnet msbuild`:
/// the next incr archive carries every change since the last staged collect, and a client's Purge keeps what
/// the master has not staged (unless PurgeUnstagedCollect=true). Archives are read with GNU tar.
/// </summary>
public sealed class UnstagedCollectTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    // Monday 2026-11-23 is the start of the week (StartingDay monday).
    private const string Monday = "BackupRunDate=2026-11-23T01:00";
    private const string Tuesday = "BackupRunDate=2026-11-24T01:00";
    private const string Wednesday = "BackupRunDate=2026-11-25T01:00";

    private (BackupProject P, string Src, string Weekly) Pool()
    {
        var src = _t.Dir("src/incr");
        var weekly = _t.Dir("src/weekly");
        File.WriteAllText(Path.Combine(src, "kept.txt"), "unchanged all week");
        File.WriteAllText(Path.Combine(src, "a.txt"), "monday");
        File.WriteAllText(Path.Combine(src, "b.txt"), "monday");
        File.WriteAllText(Path.Combine(weekly, "w.txt"), "weekly");
        var p = new BackupProject(_t.Path)
            .Item("CollectDirectory", src, ("CollectMode", "incr"), ("ArchiveMode", "tar"))
            .Item("CollectDirectory", weekly, ("CollectMode", "weekly"), ("ArchiveMode", "tar"))
            .Item("Peer", "client", ("Type", "local"), ("CollectDir", _t.Path + "/var/collect"))
            .Item("PurgeDirectory", _t.Path + "/var/collect", ("RetainDays", "0"));
        return (p, src, weekly);
    }

    private static Tool.Result Ok(Tool.Result r)
    {
        Assert.True(r.ExitCode == 0, r.All);
        return r;
    }

    private static string IncrArchive(string dir) => Directory.GetFiles(dir, "*-incr.tar").Single();

    /// <summary>The source-relative names of the regular files in an archive, read with GNU tar.</summary>
    private static List<string> Files(string archive, string src) =>
        TarListing.Names(archive).Where(n => !n.EndsWith('/')).Select(n => "/" + n)
            .Where(n => n.StartsWith(src + "/", StringComparison.Ordinal)).Select(n => n[(src.Length + 1)..]).Order().ToList();

    [Fact]
    public void A_day_that_never_reached_the_master_is_kept_by_Purge_and_carried_by_the_next_staged_incr_archive()
    {
        var (p, src, _) = Pool();
        // Day 1: collect, stage, purge: the collect dir is emptied but for the cback.stage that vouches for it.
        Ok(p.Run("Collect;Stage;Purge", Monday));
        Assert.Equal(new[] { "cback.stage" }, Directory.GetFiles(p.CollectDir).Select(Path.GetFileName));

        // Day 2: changes A, collected, not staged (the master could not reach the client), then the client's purge.
        File.WriteAllText(Path.Combine(src, "a.txt"), "tuesday A");
        File.WriteAllText(Path.Combine(src, "a2.txt"), "new on tuesday A");
        var collect2 = Ok(p.Run("Collect", Tuesday));
        Assert.DoesNotContain("BKP2200", collect2.Output);
        var tuesdayArchive = IncrArchive(p.CollectDir);
        Assert.Equal(new[] { "a.txt", "a2.txt" }, Files(tuesdayArchive, src));
        var written = File.GetLastWriteTimeUtc(tuesdayArchive);

        var purge2 = Ok(p.Run("Purge", Tuesday));
        Assert.Contains("warning BKP5100", purge2.Output);
        Assert.Contains(Path.GetFileName(tuesdayArchive), purge2.Output);
        Assert.True(File.Exists(tuesdayArchive), purge2.Output);
        Assert.Equal(written, File.GetLastWriteTimeUtc(tuesdayArchive));
        Assert.True(File.Exists(Path.Combine(p.CollectDir, "cback.collect")), "the indicator Stage needs was purged");
        Assert.Equal(new[] { "a.txt", "a2.txt" }, Files(tuesdayArchive, src));

        // Day 3: changes B, collected (carrying A: BKP2200), staged. The staged archive holds A and B.
        File.WriteAllText(Path.Combine(src, "b.txt"), "wednesday B");
        File.WriteAllText(Path.Combine(src, "b2.txt"), "new on wednesday B");
        var collect3 = Ok(p.Run("Collect;Stage", Wednesday));
        Assert.Contains("warning BKP2200", collect3.Output);
        Assert.Contains("2026-11-23", collect3.Output); // carried since Monday's staged collect
        var staged = IncrArchive(Path.Combine(p.StagingDir, "2026/11/25/client"));
        Assert.Equal(new[] { "a.txt", "a2.txt", "b.txt", "b2.txt" }, Files(staged, src));
        Assert.Equal("tuesday A", Extract(staged, src, "a.txt"));
        Assert.Equal("wednesday B", Extract(staged, src, "b.txt"));

        // Staged now: the purge removes it all and warns nothing.
        var purge3 = Ok(p.Run("Purge", Wednesday));
        Assert.DoesNotContain("BKP5100", purge3.Output);
        Assert.Equal(new[] { "cback.stage" }, Directory.GetFiles(p.CollectDir).Select(Path.GetFileName));

        // Day 4, staged chain again: only day 4's change.
        File.WriteAllText(Path.Combine(src, "c.txt"), "thursday");
        var collect4 = Ok(p.Run("Collect", "BackupRunDate=2026-11-26T01:00"));
        Assert.DoesNotContain("BKP2200", collect4.Output);
        Assert.Equal(new[] { "c.txt" }, Files(IncrArchive(p.CollectDir), src));
    }

    [Fact]
    public void A_weekly_archive_never_staged_is_kept_until_a_later_stage_takes_it()
    {
        var (p, _, weekly) = Pool();
        Ok(p.Run("Collect", Monday));
        var weeklyArchive = Directory.GetFiles(p.CollectDir, "*-weekly.tar").Single();
        var purge1 = Ok(p.Run("Purge", Monday));
        Assert.Contains("warning BKP5100", purge1.Output);
        Assert.Contains(Path.GetFileName(weeklyArchive), purge1.Output);

        // Tuesday collects no weekly archive; Monday's is still there and Tuesday's stage takes it.
        var collect2 = Ok(p.Run("Collect;Stage", Tuesday));
        Assert.Contains("warning BKP2201", collect2.Output); // no collect of the week was staged yet: everything
        var staged = Path.Combine(p.StagingDir, "2026/11/24/client", Path.GetFileName(weeklyArchive));
        Assert.True(File.Exists(staged), collect2.Output);
        Assert.Equal(new[] { "w.txt" }, Files(staged, weekly));
        Ok(p.Run("Purge", Tuesday));
        Assert.False(File.Exists(weeklyArchive));
    }

    [Fact]
    public void PurgeUnstagedCollect_true_purges_them_with_a_warning_and_the_next_collect_carries_the_changes_again()
    {
        var (p, src, _) = Pool();
        Ok(p.Run("Collect;Stage;Purge", Monday));
        File.WriteAllText(Path.Combine(src, "a.txt"), "tuesday A");
        Ok(p.Run("Collect", Tuesday));
        var archive = IncrArchive(p.CollectDir);

        var purge = Ok(p.Run("Purge", Tuesday, "PurgeUnstagedCollect=true"));
        Assert.Contains("warning BKP5101", purge.Output);
        Assert.Contains(Path.GetFileName(archive), purge.Output);
        Assert.Empty(Directory.GetFiles(p.CollectDir));

        // The same day again, nothing changed: the up-to-date check does not skip (cback.collect is gone), and the
        // archive is written again.
        var again = Ok(p.Run("Collect", "BackupRunDate=2026-11-24T03:00"));
        Assert.DoesNotContain("skipping", again.Output);
        Assert.Equal(new[] { "a.txt" }, Files(IncrArchive(p.CollectDir), src));
        Ok(p.Run("Purge", Tuesday, "PurgeUnstagedCollect=true"));

        File.WriteAllText(Path.Combine(src, "b.txt"), "wednesday B");
        var collect3 = Ok(p.Run("Collect;Stage", Wednesday));
        Assert.Contains("warning BKP2200", collect3.Output);
        Assert.Equal(new[] { "a.txt", "b.txt" }, Files(IncrArchive(Path.Combine(p.StagingDir, "2026/11/25/client")), src));

        var bad = p.Run("Purge", Wednesday, "PurgeUnstagedCollect=maybe");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("error BKP1006", bad.Output);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_state_from_before_the_staged_snapshot_loses_nothing(bool tuesdayStaged)
    {
        var (p, src, _) = Pool();
        Ok(p.Run("Collect;Stage;Purge", Monday));
        File.WriteAllText(Path.Combine(src, "a.txt"), "tuesday A");
        Ok(p.Run(tuesdayStaged ? "Collect;Stage;Purge" : "Collect", Tuesday));
        // What the previous BackupBuild left: the state (format 2, unchanged) and the day's baseline, no staged snapshot.
        foreach (var snapshot in Directory.GetFiles(p.WorkingDir, "*.staged")) File.Delete(snapshot);
        var state = Directory.GetFiles(p.WorkingDir, "*-incr.state").Single();
        Assert.Equal(2, BitConverter.ToInt32(File.ReadAllBytes(state), 8));

        File.WriteAllText(Path.Combine(src, "b.txt"), "wednesday B");
        var wednesday = Ok(p.Run("Collect", Wednesday));
        var archive = IncrArchive(p.CollectDir);
        if (tuesdayStaged)
        {
            // Tuesday reached the master: only Wednesday's change, as before the upgrade.
            Assert.DoesNotContain("BKP220", wednesday.Output);
            Assert.Equal(new[] { "b.txt" }, Files(archive, src));
        }
        else
        {
            // The old state cannot say what the master last took: the safe answer, every file of the item.
            Assert.Contains("warning BKP2201", wednesday.Output);
            Assert.Equal(new[] { "a.txt", "b.txt", "kept.txt" }, Files(archive, src));
        }
    }

    private string Extract(string archive, string src, string name)
    {
        var r = Tool.Run("tar", "-xOf", archive, src.TrimStart('/') + "/" + name);
        Assert.True(r.ExitCode == 0, r.All);
        return r.Output;
    }
}
