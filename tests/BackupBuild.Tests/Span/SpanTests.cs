using System.Security.Cryptography;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Span;

/// <summary>-t:Span (Cedar's cback3-span): the staged days across as many images as they need, verified, with an index.</summary>
public class SpanTests
{
    private static BackupProject Staged(TempDir t)
    {
        // Random data does not compress: each file keeps its size in the archive.
        var rng = new Random(42);
        foreach (var (name, kb) in new[] { ("a.bin", 300), ("b.bin", 250), ("c.bin", 200), ("d.bin", 120), ("e.bin", 60) })
        {
            var data = new byte[kb * 1024];
            rng.NextBytes(data);
            Directory.CreateDirectory(t["src/data"]);
            File.WriteAllBytes(t["src/data/" + name], data);
        }
        return new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectFile", t["src/data/a.bin"], ("ArchiveMode", "tar"))
            .Item("CollectFile", t["src/data/b.bin"], ("ArchiveMode", "tar"))
            .Item("CollectFile", t["src/data/c.bin"], ("ArchiveMode", "tar"))
            .Item("CollectFile", t["src/data/d.bin"], ("ArchiveMode", "tar"))
            .Item("CollectFile", t["src/data/e.bin"], ("ArchiveMode", "tar"));
    }

    [Fact]
    public void Span_writes_the_staged_day_across_verified_images_within_the_cushion_with_the_index_on_every_medium()
    {
        Tool.Require("bsdtar");
        Tool.Require("isoinfo");
        using var t = new TempDir();
        var p = Staged(t);
        var staged = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);
        var day = Path.Combine(p.StagingDir, "2026/11/24");

        var run = p.Run("Span", "BackupRunDate=2026-11-24T09:00", "SpanCapacity=1 MB", "SpanCushionPercent=20");
        Assert.True(run.ExitCode == 0, run.All);
        var images = Directory.GetFiles(Path.Combine(p.Root, "span"), "span-*.iso").Order(StringComparer.Ordinal).ToList();
        Assert.True(images.Count >= 2, run.All);
        Assert.Equal(Enumerable.Range(1, images.Count).Select(n => $"span-{n:000}.iso"), images.Select(Path.GetFileName));
        var room = (long)(1024 * 1024 * 0.8);
        Assert.All(images, i => Assert.True(new FileInfo(i).Length <= room, $"{i}: {new FileInfo(i).Length} > {room}"));

        // Every staged file is on exactly one medium, byte for byte, where the index says; the index is on every medium.
        var index = File.ReadAllText(Path.Combine(p.Root, "span/span-index.txt"));
        var where = index.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t')).ToDictionary(f => f[2], f => int.Parse(f[0]));
        var stagedFiles = Directory.GetFiles(day, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "cback.store").Select(f => Path.GetRelativePath(p.StagingDir, f)).ToList();
        Assert.Equal(stagedFiles.Order(StringComparer.Ordinal), where.Keys.Order(StringComparer.Ordinal));
        for (var k = 1; k <= images.Count; k++)
        {
            var dir = t.Dir($"x{k}");
            var x = Tool.Run("bsdtar", "-xf", images[k - 1], "-C", dir);
            Assert.True(x.ExitCode == 0, x.All);
            Assert.Equal(index, File.ReadAllText(Path.Combine(dir, "span/index.txt")));
            var onMedium = Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(dir, f)).Where(f => !f.StartsWith("span/")).ToList();
            Assert.Equal(where.Where(w => w.Value == k).Select(w => w.Key).Order(StringComparer.Ordinal), onMedium.Order(StringComparer.Ordinal));
            foreach (var f in onMedium)
                Assert.Equal(SHA256.HashData(File.ReadAllBytes(Path.Combine(p.StagingDir, f))), SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, f))));
            var info = Tool.Run("isoinfo", "-d", "-i", images[k - 1]);
            Assert.Contains($"Volume id: CEDAR BACKUP SPAN {k:000}", info.Output);
        }
        Assert.True(File.Exists(Path.Combine(day, "cback.store")), run.All);

        // The day is marked stored: a second Span finds nothing left to write.
        var again = p.Run("Span", "BackupRunDate=2026-11-24T10:00", "SpanCapacity=1 MB", "SpanCushionPercent=20");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("nothing to write", again.Output);
    }

    [Fact]
    public void A_file_larger_than_a_medium_less_its_cushion_stops_Span_before_anything_is_written()
    {
        using var t = new TempDir();
        var p = Staged(t);
        var staged = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(staged.ExitCode == 0, staged.All);
        var run = p.Run("Span", "BackupRunDate=2026-11-24T09:00", "SpanCapacity=300 KB", "SpanCushionPercent=4.5");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error BKP9103", run.Output);
        Assert.Contains("a.bin", run.Output);
        Assert.False(Directory.Exists(Path.Combine(p.Root, "span")));
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));
    }

    [Fact]
    public void Bad_span_settings_are_reported_together()
    {
        using var t = new TempDir();
        var p = Staged(t);
        var run = p.Run("Span", "SpanImagePattern=relative.iso", "SpanCapacity=lots", "SpanCushionPercent=100");
        Assert.NotEqual(0, run.ExitCode);
        foreach (var code in new[] { "BKP1", "BKP9101", "BKP9102" }) Assert.Contains("error " + code, run.Output);
    }
}
