using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>A pool of one: Collect, Stage, Store to an ISO image, Purge in one `-t:All`.</summary>
public class AllEndToEndTests
{
    private static BackupProject PoolOfOne(TempDir t, string media = "dvd+rw", string capacity = "")
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("src/docs/ünïcode name.txt", "utf-8\n");
        t.File("src/etc/app.conf", "listen 8080\n");
        var p = new BackupProject(t.Path)
            .Property("StoreMediaType", media)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "incr"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"))
            .Item("PurgeDirectory", t["var/staging"], ("RetainDays", "7"));
        if (capacity != "") p.Property("StoreImageCapacity", capacity);
        return p;
    }

    [Fact]
    public void All_stores_the_staged_day_on_an_image_that_xorriso_and_bsdtar_extract_identically()
    {
        Tool.Require("xorriso");
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var run = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var day = Path.Combine(p.StagingDir, "2026/11/24");
        Assert.True(File.Exists(Path.Combine(day, "cback.stage")), run.All);
        Assert.True(File.Exists(Path.Combine(day, "cback.store")), run.All);
        Assert.True(File.Exists(Path.Combine(day, "master/cback.collect")), run.All);
        var image = Path.Combine(p.Root, "media/backup.iso");
        Assert.True(File.Exists(image), run.All);

        var staged = Snapshot.Contents(day);
        staged.Remove("cback.store"); // written after the image, as Cedar does
        foreach (var (extractor, args) in new[]
                 {
                     ("xorriso", new[] { "-indev", image, "-osirrox", "on", "-extract", "/2026/11/24", "OUT" }),
                     ("bsdtar", new[] { "-xf", image, "-C", "OUT" }),
                 })
        {
            var outDir = t.Dir("out-" + extractor);
            var r = Tool.Run(extractor, args.Select(a => a == "OUT" ? outDir : a).ToArray());
            Assert.True(r.ExitCode == 0, r.All);
            var root = extractor == "bsdtar" ? Path.Combine(outDir, "2026/11/24") : outDir;
            var got = Snapshot.Contents(root);
            Assert.Equal(staged.Keys.OrderBy(k => k), got.Keys.OrderBy(k => k));
            foreach (var (k, v) in staged) Assert.Equal(v, got[k]);
        }
        var info = Tool.Run("isoinfo", "-d", "-i", image);
        Assert.Contains("CEDAR BACKUP 24-NOV-2026", info.Output);
        Assert.Contains("Rock Ridge", info.Output);

        // Purge with RetainDays 0 emptied the collect dir, all but the cback.stage that tells the next Collect it was staged.
        Assert.Equal(new[] { "cback.stage" }, Directory.GetFiles(p.CollectDir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_second_all_the_same_day_with_nothing_changed_stores_nothing_again()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        Assert.Equal(0, p.Run("All", "BackupRunDate=2026-11-24T01:00").ExitCode);
        var image = Path.Combine(p.Root, "media/backup.iso");
        var written = File.GetLastWriteTimeUtc(image);
        var again = p.Run("All", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(written, File.GetLastWriteTimeUtc(image));
        // Store's stamp: nothing it reads changed since its last successful run, so MSBuild skips its work.
        Assert.Contains("Skipping target \"CoreStore\"", again.Output);
    }

    [Fact]
    public void More_than_the_medium_holds_is_a_coded_error_before_anything_is_written()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t, media: "image", capacity: "64 KB");
        var big = new byte[1 << 20];
        new Random(1).NextBytes(big);
        File.WriteAllBytes(t["src/docs/random.bin"], big);
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP4103", run.Output);
        Assert.False(File.Exists(Path.Combine(p.Root, "media/backup.iso")));
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));
    }

    [Fact]
    public void Store_picks_yesterday_after_midnight_and_warns_when_asked()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t).Property("StoreWarnMidnight", "true");
        Assert.Equal(0, p.Run("Collect;Stage", "BackupRunDate=2026-11-24T23:59").ExitCode);
        var run = p.Run("Store", "BackupRunDate=2026-11-25T00:01");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("warning BKP4001", run.Output);
        Assert.True(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));
    }
}
