using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>
/// A week of collects driven by BackupRunDate (starting day Monday): daily items every day,
/// weekly items on Monday and with Full, incremental items with everything on Monday and the
/// changes since the previous day otherwise. Between days the collect dir is emptied but for the
/// master's cback.stage, as the pool-of-one Stage and Purge leave it, so each day's archives can be read on their own.
/// </summary>
public class SimulatedWeekTests
{
    [Fact]
    public void A_week_of_collects_follows_cedar_backups_modes()
    {
        using var t = new TempDir();
        t.File("src/daily/d.txt", "d");
        t.File("src/weekly/top.txt", "top");
        t.File("src/weekly/a/1.txt", "1");
        t.File("src/weekly/b/2.txt", "2");
        t.File("src/incr/f1.txt", "one");
        t.File("src/incr/f2.txt", "two");
        t.File("src/incr/sub/f3.txt", "three");
        t.File("src/single.conf", "v1");
        var p = new BackupProject(t.Path)
            .Property("StartingDay", "monday")
            .Item("CollectDirectory", t["src/daily"], ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/weekly"], ("CollectMode", "weekly"), ("ArchiveMode", "tarbz2"), ("RecursionLevel", "1"))
            .Item("CollectDirectory", t["src/incr"], ("CollectMode", "incr"), ("ArchiveMode", "tar"))
            .Item("CollectFile", t["src/single.conf"], ("CollectMode", "incr"), ("ArchiveMode", "tar"));
        var prefix = Tasks.Infrastructure.NormalizedPath.From(t["src"]);
        string Member(string rel) => t["src/" + rel].TrimStart('/');

        Dictionary<string, List<string>> Day(string date, params string[] extra)
        {
            if (Directory.Exists(p.CollectDir)) Directory.Delete(p.CollectDir, true);
            // The master staged the previous day (its cback.stage, which Purge keeps): incr items hold the day's changes.
            Directory.CreateDirectory(p.CollectDir);
            File.WriteAllBytes(Path.Combine(p.CollectDir, "cback.stage"), Array.Empty<byte>());
            var run = p.Run("Collect", new[] { "BackupRunDate=" + date }.Concat(extra).ToArray());
            Assert.True(run.ExitCode == 0, run.All);
            Assert.True(File.Exists(Path.Combine(p.CollectDir, "cback.collect")));
            return Directory.GetFiles(p.CollectDir, "*.tar*")
                .ToDictionary(f => Path.GetFileName(f)[(prefix.Length + 1)..], TarListing.Names);
        }

        // Monday, the starting day: everything, weekly split by RecursionLevel 1.
        var mon = Day("2026-11-23T01:00");
        Assert.Equal(new[] { "daily.tar.gz", "incr.tar", "single.conf.tar", "weekly-a.tar.bz2", "weekly-b.tar.bz2", "weekly.tar.bz2" },
            mon.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new[] { Member("weekly/top.txt") }, mon["weekly.tar.bz2"]);
        Assert.Equal(new[] { Member("weekly/a/1.txt") }, mon["weekly-a.tar.bz2"]);
        Assert.Equal(3, mon["incr.tar"].Count);

        // Tuesday: one file changed, one added; one only touched (same content): only the first two.
        File.WriteAllText(t["src/incr/f1.txt"], "one, changed");
        t.File("src/incr/sub/new.txt", "new");
        File.SetLastWriteTime(t["src/incr/f2.txt"], DateTime.Now.AddHours(1));
        var tue = Day("2026-11-24T01:00");
        Assert.Equal(new[] { "daily.tar.gz", "incr.tar" }, tue.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new[] { Member("incr/f1.txt"), Member("incr/sub/new.txt") }, tue["incr.tar"]);

        // Wednesday: nothing changed: no incremental archives at all.
        var wed = Day("2026-11-25T01:00");
        Assert.Equal(new[] { "daily.tar.gz" }, wed.Keys);

        // Thursday: the single file changed and a file was deleted.
        File.WriteAllText(t["src/single.conf"], "v2");
        File.Delete(t["src/incr/f2.txt"]);
        var thu = Day("2026-11-26T01:00");
        Assert.Equal(new[] { "daily.tar.gz", "single.conf.tar" }, thu.Keys.OrderBy(k => k, StringComparer.Ordinal));

        // Friday with Full: weekly items and every incremental file again.
        var fri = Day("2026-11-27T01:00", "Full=true");
        Assert.Contains("weekly.tar.bz2", fri.Keys);
        Assert.Equal(3, fri["incr.tar"].Count);

        // Saturday after Full: the incremental state was rewritten, so nothing is new.
        var sat = Day("2026-11-28T01:00");
        Assert.Equal(new[] { "daily.tar.gz" }, sat.Keys);

        // The next Monday starts a new week: everything again.
        var nextMon = Day("2026-11-30T01:00");
        Assert.Equal(6, nextMon.Count);
        Assert.Equal(3, nextMon["incr.tar"].Count);
    }
}
