using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>The capacity extension against an image medium with a small StoreImageCapacity.</summary>
public class CapacityTests
{
    [Fact]
    public void Over_the_threshold_warns_or_fails_and_under_it_is_silent()
    {
        using var t = new TempDir();
        var random = new byte[200 * 1024];
        new Random(7).NextBytes(random);
        File.WriteAllBytes(t.Dir("src") + "/random.bin", random);
        var p = new BackupProject(t.Path)
            .Property("StoreMediaType", "image").Property("StoreImageCapacity", "1 MB")
            .Property("CapacityMaxPercentage", "15")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src"], ("CollectMode", "daily"), ("ArchiveMode", "tar"));

        // Before the first Store the image does not exist: a blank medium, nothing to say.
        var first = p.Run("All", "BackupRunDate=2026-11-24T01:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.DoesNotContain("BKP622", first.Output);

        // About 270 KB of 1 MB are used now.
        var over = p.Run("CheckMediaCapacity");
        Assert.True(over.ExitCode == 0, over.All);
        Assert.Contains("warning BKP6223", over.Output);

        var under = p.Run("CheckMediaCapacity", "CapacityMaxPercentage=90");
        Assert.True(under.ExitCode == 0, under.All);
        Assert.DoesNotContain("BKP622", under.Output);

        var failing = p.Run("CheckMediaCapacity", "CapacityMaxPercentage=", "CapacityMinBytes=1 GB", "CapacityFailRun=true");
        Assert.Equal(1, failing.ExitCode);
        Assert.Contains("error BKP6224", failing.Output);

        var both = p.Run("CheckMediaCapacity", "CapacityMinBytes=1 GB");
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("error BKP6220", both.Output);
    }
}
