using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// What the archives do not hold (they store every hard-link name as a regular file and have no folder entries, as
/// Cedar's do) comes back from the manifest: names that were hard links of one file are links again where both are
/// restored, and folders get their mode, owner (as root) and time. Real `dotnet msbuild` Collect, Stage, Store, Restore.
/// </summary>
public class TreeShapeRestoreTests
{
    private const long T0 = 1_780_000_000L;

    private static void Time(string path, long seconds) =>
        Assert.Equal(0, Tool.Run("touch", "-h", "-d", "@" + seconds, path).ExitCode);

    private static PosixStat Stat(string path) => Posix.LStat(path, out _) ?? throw new Xunit.Sdk.XunitException("missing " + path);

    [Fact]
    public void Hard_links_and_folder_modes_owners_and_times_come_back_as_on_the_peer()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        t.File("src/tree/one.txt", "linked three times\n");
        t.File("src/tree/single.txt", "alone\n");
        Directory.CreateDirectory(tree + "/a/b");
        Assert.Equal(0, Tool.Run("ln", tree + "/one.txt", tree + "/a/two.txt").ExitCode);
        Assert.Equal(0, Tool.Run("ln", tree + "/one.txt", tree + "/a/b/three.txt").ExitCode);
        t.File("src/tree/a/b/plain.txt", "plain\n");
        File.SetUnixFileMode(tree + "/a", (UnixFileMode)Convert.ToInt32("2750", 8));
        File.SetUnixFileMode(tree + "/a/b", (UnixFileMode)Convert.ToInt32("700", 8));
        if (Posix.IsRoot) Assert.Equal(0, Tool.Run("chown", "1234:2345", tree + "/a").ExitCode);
        Time(tree + "/a/b", T0 + 100);
        Time(tree + "/a", T0 + 200);
        Time(tree, T0 + 300);

        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Property("StartingDay", "monday")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", tree, ("CollectMode", "incr"), ("ArchiveMode", "targz"));
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-23T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        // Tuesday: a/two.txt is replaced by a file of its own; the other two names stay one file.
        p.PurgeStagedCollectDir();
        File.Delete(tree + "/a/two.txt");
        t.File("src/tree/a/two.txt", "own file now\n");
        Time(tree + "/a", T0 + 400);
        run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        void Check(string to, bool twoLinked, long aTime)
        {
            var one = Stat(to + tree + "/one.txt");
            var three = Stat(to + tree + "/a/b/three.txt");
            var two = Stat(to + tree + "/a/two.txt");
            Assert.Equal(one.Inode, three.Inode);
            Assert.Equal(twoLinked ? 3UL : 2UL, one.Links);
            Assert.Equal(twoLinked, two.Inode == one.Inode);
            Assert.Equal(1UL, Stat(to + tree + "/single.txt").Links);
            Assert.Equal("linked three times\n", File.ReadAllText(to + tree + "/a/b/three.txt"));
            var a = Stat(to + tree + "/a");
            var b = Stat(to + tree + "/a/b");
            var top = Stat(to + tree);
            Assert.Equal(Posix.IsRoot ? "2750" : "750", Convert.ToString(a.Permissions, 8));
            Assert.Equal("700", Convert.ToString(b.Permissions, 8));
            Assert.Equal(aTime, a.MtimeSeconds);
            Assert.Equal(T0 + 100, b.MtimeSeconds);
            Assert.Equal(T0 + 300, top.MtimeSeconds);
            if (Posix.IsRoot) Assert.Equal((1234u, 2345u), (a.Uid, a.Gid));
        }

        var monday = t.Dir("restore-monday");
        run = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + monday);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning", run.Output);
        Check(monday, twoLinked: true, T0 + 200);

        var tuesday = t.Dir("restore-tuesday");
        run = p.Run("Restore", "RestoreDate=2026-11-24", "RestoreTo=" + tuesday);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning", run.Output);
        Check(tuesday, twoLinked: false, T0 + 400);
        Assert.Equal("own file now\n", File.ReadAllText(tuesday + tree + "/a/two.txt"));

        // From the image alone, the same.
        Directory.Delete(p.StagingDir, true);
        var image = t.Dir("restore-image");
        run = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + image);
        Assert.True(run.ExitCode == 0, run.All);
        Check(image, twoLinked: true, T0 + 200);

        // Only one name restored: a file of its own; a folder above the restored path is left as it was made.
        var part = t.Dir("restore-part");
        run = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + part, "RestorePath=" + tree + "/a/b");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal(1UL, Stat(part + tree + "/a/b/three.txt").Links);
        Assert.Equal("700", Convert.ToString(Stat(part + tree + "/a/b").Permissions, 8));
        Assert.Equal(T0 + 100, Stat(part + tree + "/a/b").MtimeSeconds);
        Assert.NotEqual(T0 + 200, Stat(part + tree + "/a").MtimeSeconds);

        // Run again into the same folder: already restored, still linked, nothing to warn about.
        run = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + monday);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning", run.Output);
        Check(monday, twoLinked: true, T0 + 200);
    }
}
