using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>Archives the split extension cut into pieces restore and verify as the whole archive.</summary>
public class SplitRestoreTests
{
    [Fact]
    public void A_split_archive_restores_and_verifies_from_its_pieces_on_staging_and_on_the_image()
    {
        using var t = new TempDir();
        var random = new byte[300 * 1024];
        new Random(7).NextBytes(random);
        File.WriteAllBytes(t.Dir("src/big") + "/random.bin", random);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Property("StoreMediaType", "image").Property("StoreImageCapacity", "10 MB")
            .Property("SplitSizeLimit", "100 KB").Property("SplitSize", "64 KB")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/big"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/master"), "*.tar_00000"));

        var verify = p.Run("Verify", "BackupRunDate=2026-11-24");
        Assert.True(verify.ExitCode == 0, verify.All);
        Assert.Contains("2 archive copies read, 0 bad, 0 missing", verify.Output);

        var to = t["restore"];
        var restore = p.Run("Restore", "RestoreTo=" + to);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal(random, File.ReadAllBytes(to + t["src/big/random.bin"]));

        Directory.Delete(p.StagingDir, true);
        var fromImage = t["restore-image"];
        restore = p.Run("Restore", "RestoreTo=" + fromImage);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal(random, File.ReadAllBytes(fromImage + t["src/big/random.bin"]));
    }
}
