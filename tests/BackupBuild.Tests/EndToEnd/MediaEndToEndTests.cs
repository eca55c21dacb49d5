using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>Store, Initialize and Rebuild through `dotnet msbuild`, on an image file and on a drive given as stdio:.</summary>
public class MediaEndToEndTests
{
    private static BackupProject PoolOfOne(TempDir t)
    {
        t.File("src/docs/report.txt", "quarterly report\n");
        return new BackupProject(t.Path)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "tar"))
            .Item("PurgeDirectory", t["var/collect"], ("RetainDays", "0"));
    }

    private static List<string> Days(string image) =>
        Tool.Run("bsdtar", "-tf", image).Output.Split('\n')
            .Where(l => l.Count(c => c == '/') == 2 && l.StartsWith("2026/")).Select(l => l.TrimEnd('/')).Distinct().Order().ToList();

    [Fact]
    public void Daily_runs_append_sessions_initialize_labels_and_rebuild_writes_the_week_in_one_session()
    {
        Tool.Require("bsdtar");
        Tool.Require("xorriso");
        using var t = new TempDir();
        var p = PoolOfOne(t).Property("StoreCheckMedia", "true").Property("StoreCheckData", "true");
        var image = Path.Combine(p.Root, "media/backup.iso");

        var refused = p.Run("All", "BackupRunDate=2026-11-23T01:00");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error BKP4107", refused.Output); // a rewritable medium must be initialized first
        var init = p.Run("Initialize", "BackupRunDate=2026-11-23T01:05");
        Assert.True(init.ExitCode == 0, init.All);
        Assert.Contains("Initialized", init.Output);

        foreach (var date in new[] { "2026-11-23T01:10", "2026-11-24T01:00", "2026-11-25T01:00" })
        {
            var run = p.Run("All", "BackupRunDate=" + date);
            Assert.True(run.ExitCode == 0, run.All);
            Assert.Contains("CheckData: ", run.Output);
        }
        Assert.Equal(new[] { "2026/11/23", "2026/11/24", "2026/11/25" }, Days(image));
        Assert.Equal(3, Store.MediumReaders.Sessions(image).Count); // Monday's store replaced the initialized medium

        var rebuild = p.Run("RebuildMedium", "BackupRunDate=2026-11-25T02:00");
        Assert.True(rebuild.ExitCode == 0, rebuild.All);
        Assert.Contains("Rebuilt 3 staging days", rebuild.Output);
        Assert.Single(Store.MediumReaders.Sessions(image));
        Assert.Equal(new[] { "2026/11/23", "2026/11/24", "2026/11/25" }, Days(image));
    }

    [Fact]
    public void A_drive_is_written_through_xorriso_and_checked()
    {
        Tool.Require("xorriso");
        using var t = new TempDir();
        var disc = t["drive/disc"];
        t.Dir("drive");
        var p = PoolOfOne(t).Property("StoreDevice", "stdio:" + disc).Property("StoreCheckData", "true").Property("StoreDriveSpeed", "2");
        foreach (var date in new[] { "2026-11-24T01:00", "2026-11-25T01:00" })
        {
            var run = p.Run("Collect;Stage;Store", "BackupRunDate=" + date);
            Assert.True(run.ExitCode == 0, run.All);
            Assert.True(run.Output.Contains("CheckData: "), run.Output);
        }
        Assert.Equal(2, Store.MediumReaders.Sessions(disc).Count);
        Assert.False(File.Exists(Path.Combine(p.Root, "media/backup.iso")));
    }

    [Fact]
    public void Media_configuration_errors_are_reported_together()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t)
            .Property("StoreDevice", "sr0")
            .Property("StoreDriveSpeed", "0")
            .Property("StoreMediaLabel", "my backups")
            .Property("StoreBlankMode", "hourly")
            .Property("StoreBlankFactor", "lots")
            .Property("StoreCheckData", "yes");
        var run = p.Run("Validate");
        Assert.Equal(1, run.ExitCode);
        foreach (var code in new[] { "BKP1050", "BKP1051", "BKP1052", "BKP1012", "BKP1054", "BKP1006", "BKP1043" })
            Assert.Contains("error " + code, run.Output);

        var drive = PoolOfOne(t).Property("StoreDevice", t["no/such/sr0"]).Property("StoreXorrisoPath", t["no/xorriso"]).Run("Validate");
        Assert.Contains("error BKP1056", drive.Output);
        Assert.Contains("error BKP1057", drive.Output);

        var half = PoolOfOne(t).Property("StoreBlankMode", "weekly").Run("Store");
        Assert.Contains("error BKP1053", half.Output);

        var once = PoolOfOne(t).Property("StoreMediaType", "cdr-80").Run("Initialize");
        Assert.Equal(1, once.ExitCode);
        Assert.Contains("error BKP1055", once.Output);
        Assert.False(Directory.Exists(Path.Combine(p.Root, "media")));
    }
}
