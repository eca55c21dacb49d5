using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>The split extension in a real run: pieces of the configured size that join back byte-identical.</summary>
public class SplitTests
{
    [Fact]
    public void Files_over_the_limit_become_pieces_that_join_back_and_small_files_stay()
    {
        using var t = new TempDir();
        var random = new byte[300 * 1024];
        new Random(5).NextBytes(random);
        File.WriteAllBytes(t.Dir("src/big") + "/random.bin", random);
        t.File("src/small/app.conf", "listen 8080\n");
        var p = new BackupProject(t.Path)
            .Property("StoreMediaType", "image").Property("StoreImageCapacity", "10 MB")
            .Property("SplitSizeLimit", "100 KB").Property("SplitSize", "64 KB")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/big"], ("CollectMode", "daily"), ("ArchiveMode", "tar"))
            .Item("CollectDirectory", t["src/small"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var peer = Path.Combine(p.StagingDir, "2026/11/24/master");
        var big = Directory.GetFiles(p.CollectDir, "*big*.tar").Single();
        var small = Directory.GetFiles(p.CollectDir, "*small*.tar").Single();
        var name = Path.GetFileName(big);
        Assert.False(File.Exists(Path.Combine(peer, name)));
        var pieces = Directory.GetFiles(peer, name + "_*").Order(StringComparer.Ordinal).ToList();
        var expected = (int)((new FileInfo(big).Length + 65535) / 65536);
        Assert.Equal(Enumerable.Range(0, expected).Select(i => name + "_" + i.ToString("D5")), pieces.Select(Path.GetFileName));
        Assert.All(pieces.SkipLast(1), piece => Assert.Equal(65536, new FileInfo(piece).Length));

        // Restore check: cat joins them back.
        var joined = Tool.Run("sh", new[] { "-c", "cat \"$@\" > \"$0\"", t["joined"] }.Concat(pieces).ToArray());
        Assert.True(joined.ExitCode == 0, joined.All);
        Assert.Equal(File.ReadAllBytes(big), File.ReadAllBytes(t["joined"]));

        Assert.Equal(File.ReadAllBytes(small), File.ReadAllBytes(Path.Combine(peer, Path.GetFileName(small))));
        Assert.True(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.split")));
        Assert.True(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")));

        // The report counts each stored file once: the pieces, not also the whole file Restore reads them as.
        var report = p.Run("Report", "BackupRunDate=2026-11-24T02:00");
        Assert.True(report.ExitCode == 0, report.All);
        var files = Directory.GetFiles(peer);
        Assert.Contains($"staging {p.StagingDir.TrimEnd('/')}: {files.Length} files, " +
            BackupBuild.Tasks.Infrastructure.Units.Bytes(files.Sum(f => new FileInfo(f).Length)), report.Output);
        var stored = files.Where(f => !Path.GetFileName(f).StartsWith("cback.", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Contains($"master: collected 2026-11-24, staged 2026-11-24, stored 2026-11-24, {BackupBuild.Tasks.Infrastructure.Units.Bytes(stored)} in the last 1 stored days", report.Output);
    }

    [Fact]
    public void A_split_size_that_is_not_a_byte_quantity_is_a_coded_error()
    {
        using var t = new TempDir();
        t.File("src/a.txt", "a\n");
        var p = new BackupProject(t.Path)
            .Property("SplitSizeLimit", "100 KB").Property("SplitSize", "lots")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP6210", run.Output);
        Assert.False(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.split")));
    }
}
