using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// A small file system made by the test (tmpfs; a loop-mounted ext4 image if tmpfs cannot be mounted): the
/// action's output fills it. The run fails with a coded error naming the path (no stack trace), the previous
/// state is intact, and the next run succeeds once a filler file is removed.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly TempDir _t = new();
    private readonly List<string> _mounts = new();

    public void Dispose()
    {
        foreach (var m in _mounts) Tool.Run("umount", "-l", m);
        _t.Dispose();
    }

    /// <summary>Mounts a file system of <paramref name="megabytes"/> MB at a new folder; fails the test when it cannot.</summary>
    private string SmallDisk(string name, int megabytes)
    {
        var dir = _t.Dir(name);
        var tmpfs = Tool.Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", dir);
        if (tmpfs.ExitCode == 0)
        {
            _mounts.Add(dir);
            return dir;
        }
        var image = _t[name + ".img"];
        var mk = Tool.Run("truncate", "-s", $"{megabytes}M", image);
        var fs = Tool.Run("mkfs.ext4", "-q", "-F", image);
        var loop = Tool.Run("mount", "-o", "loop", image, dir);
        Assert.True(mk.ExitCode == 0 && fs.ExitCode == 0 && loop.ExitCode == 0,
            $"cannot make a small file system (run the tests as root): tmpfs: {tmpfs.All} loop: {fs.All}{loop.All}");
        _mounts.Add(dir);
        return dir;
    }

    private static void Filler(string dir, int megabytes) =>
        File.WriteAllBytes(Path.Combine(dir, "filler"), new byte[megabytes * 1024 * 1024]);

    private static void AssertCodedFailure(Tool.Result r, string code, string path)
    {
        Assert.Equal(1, r.ExitCode);
        var line = r.Output.Split('\n').FirstOrDefault(l => l.Contains("error " + code));
        Assert.True(line != null, $"no error {code}:\n{r.All}");
        Assert.Contains(path, line);
        Assert.Contains("No space left on device", line);
        Assert.DoesNotContain("   at ", r.Output); // a coded error, not a stack trace
    }

    [Fact]
    public void Collect_onto_a_full_disk_fails_with_BKP2103_naming_the_archive_keeps_the_old_archive_and_state_and_succeeds_later()
    {
        var disk = SmallDisk("collectdisk", 8);
        var src = _t.Dir("src");
        KillData.Files(src, "a", 1, 100 * 1024, 1);
        var p = new BackupProject(_t.Path).Property("CollectDir", disk + "/")
            .Item("CollectDirectory", src, ("CollectMode", "incr"), ("ArchiveMode", "tar"));
        var monday = p.Run("Collect", "BackupRunDate=2026-11-23T01:00");
        Assert.True(monday.ExitCode == 0, monday.All);
        var archive = Directory.GetFiles(disk, "*.tar").Single();
        var oldArchive = File.ReadAllBytes(archive);
        // The master staged Monday: Tuesday's archive holds Tuesday's changes, also after the failed run removed cback.stage.
        File.WriteAllBytes(Path.Combine(disk, "cback.stage"), Array.Empty<byte>());
        var state = Directory.GetFiles(p.WorkingDir, "*.state").Single();
        var oldState = File.ReadAllBytes(state);

        KillData.Files(src, "b", 4, 1024 * 1024, 2);
        Filler(disk, 5);
        var full = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        AssertCodedFailure(full, "BKP2103", archive);
        Assert.Equal(oldArchive, File.ReadAllBytes(archive));
        Assert.Equal(oldState, File.ReadAllBytes(state)); // the state did not run ahead of the archive
        Assert.False(File.Exists(Path.Combine(disk, "cback.collect")));
        Assert.Empty(Directory.GetFiles(disk, ".bkp-tmp-*"));

        File.Delete(Path.Combine(disk, "filler"));
        var later = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.True(later.ExitCode == 0, later.All);
        Assert.Equal(4, TarListing.Names(archive).Count(n => n.EndsWith(".bin")));
        Assert.True(File.Exists(Path.Combine(disk, "cback.collect")));
    }

    [Fact]
    public void Stage_onto_a_full_disk_fails_with_BKP3027_naming_the_file_keeps_the_staged_day_and_succeeds_later()
    {
        var disk = SmallDisk("stagedisk", 8);
        var peer = _t.Dir("peer");
        File.WriteAllText(Path.Combine(peer, "cback.collect"), "");
        KillData.Files(peer, "small", 1, 10 * 1024, 1);
        var p = new BackupProject(_t.Path).Property("StagingDir", disk + "/")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", peer));
        var monday = p.Run("Stage", "BackupRunDate=2026-11-23T01:00");
        Assert.True(monday.ExitCode == 0, monday.All);
        var mondayTree = KillHarness.Tree(Path.Combine(disk, "2026/11/23"));

        File.Delete(Path.Combine(peer, "cback.stage"));
        KillData.Files(peer, "big", 3, 1024 * 1024, 2);
        Filler(disk, 6);
        var full = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        AssertCodedFailure(full, "BKP3027", peer);
        Assert.Equal(mondayTree, KillHarness.Tree(Path.Combine(disk, "2026/11/23")));
        Assert.False(File.Exists(Path.Combine(peer, "cback.stage")), "the peer was marked staged");
        // cback.collect is staged last: a copy stopped part way never looks collected (Restore, Verify and the report see a hole).
        Assert.False(File.Exists(Path.Combine(disk, "2026/11/24/master/cback.collect")), "a partly staged folder holds cback.collect");
        Assert.Empty(Directory.GetFiles(Path.Combine(disk, "2026/11/24/master"), ".bkp-tmp-*"));

        File.Delete(Path.Combine(disk, "filler"));
        var later = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(later.ExitCode == 0, later.All);
        Assert.True(File.Exists(Path.Combine(disk, "2026/11/24/master/big002.bin")));
        Assert.True(File.Exists(Path.Combine(peer, "cback.stage")));
    }

    [Fact]
    public void Stage_of_remote_peers_onto_a_full_disk_says_no_space_left_with_BKP3027_naming_the_peer_and_the_staging_folder_for_rsync_and_scp()
    {
        // rsync says "error in file IO (code 11)" and scp "Broken pipe" when the master's disk fills: Stage names the full disk
        // as it does for a local peer.
        using var ssh = new SshServer();
        var disk = SmallDisk("remotestagedisk", 8);
        var web = _t.Dir("web");
        var db = _t.Dir("db");
        foreach (var (dir, seed) in new[] { (web, 3), (db, 4) })
        {
            File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
            KillData.Files(dir, "big", 3, 1024 * 1024, seed);
        }
        var p = new BackupProject(_t.Path).Property("StagingDir", disk + "/")
            .Item("Peer", "web", ssh.PeerMetadata(web))
            .Item("Peer", "db", ssh.PeerMetadata(db, ("RemoteCopy", "scp -O")));
        Filler(disk, 6);
        var full = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(full.ExitCode == 1, full.All);
        foreach (var (peer, dir) in new[] { ("web", web), ("db", db) })
        {
            var line = full.Output.Split('\n').FirstOrDefault(l => l.Contains("error BKP3027") && l.Contains($"Peer \"{peer}\""));
            Assert.True(line != null, $"no BKP3027 for {peer}:\n{full.All}");
            Assert.Contains(Path.Combine(disk, "2026/11/24", peer), line);
            Assert.Contains("No space left on device", line);
            Assert.False(File.Exists(Path.Combine(dir, "cback.stage")), peer + " was marked staged");
            Assert.False(File.Exists(Path.Combine(disk, "2026/11/24", peer, "cback.collect")), peer + " looks staged");
        }
        Assert.DoesNotContain("BKP3053", full.Output);
        Assert.DoesNotContain("   at ", full.Output);

        File.Delete(Path.Combine(disk, "filler"));
        var later = p.Run("Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.True(later.ExitCode == 0, later.All);
        foreach (var peer in new[] { "web", "db" })
            Assert.True(File.Exists(Path.Combine(disk, "2026/11/24", peer, "big002.bin")), peer);
    }

    [Fact]
    public void Store_onto_a_full_disk_fails_with_a_coded_error_naming_the_image_keeps_what_it_showed_and_succeeds_later()
    {
        Tool.Require("bsdtar");
        var disk = SmallDisk("mediadisk", 8);
        var image = Path.Combine(disk, "backup.iso");
        var p = new BackupProject(_t.Path).Property("StoreMediaType", "image").Property("StoreImageFile", image);
        var monday = Path.Combine(p.StagingDir, "2026/11/23");
        var tuesday = Path.Combine(p.StagingDir, "2026/11/24");
        KillData.Files(Path.Combine(monday, "master"), "m", 1, 10 * 1024, 1);
        File.WriteAllText(Path.Combine(monday, "cback.stage"), "");
        var first = p.Run("Store", "BackupRunDate=2026-11-23T02:00");
        Assert.True(first.ExitCode == 0, first.All);
        var mondayList = Tool.Run("bsdtar", "-tvf", image).Output;

        KillData.Files(Path.Combine(tuesday, "master"), "t", 4, 1024 * 1024, 2);
        File.WriteAllText(Path.Combine(tuesday, "cback.stage"), "");
        Filler(disk, 5);
        var full = p.Run("Store", "BackupRunDate=2026-11-24T02:00");
        AssertCodedFailure(full, "BKP4120", image);
        Assert.Equal(mondayList, Tool.Run("bsdtar", "-tvf", image).Output);
        Assert.False(File.Exists(Path.Combine(tuesday, "cback.store")));

        File.Delete(Path.Combine(disk, "filler"));
        var later = p.Run("Store", "BackupRunDate=2026-11-24T02:00");
        Assert.True(later.ExitCode == 0, later.All);
        Assert.Contains("2026/11/24/master/t003.bin", Tool.Run("bsdtar", "-tf", image).Output);
        Assert.True(File.Exists(Path.Combine(tuesday, "cback.store")));
    }

    /// <summary>Fills a file system to the last byte.</summary>
    internal static void FillUp(string dir)
    {
        using var s = new FileStream(Path.Combine(dir, "filler"), FileMode.Create);
        var chunk = new byte[64 * 1024];
        try
        {
            while (true) s.Write(chunk);
        }
        catch (IOException) { }
        try { s.Flush(); } catch (IOException) { }
    }

    [Fact]
    public void Store_with_a_full_staging_disk_fails_with_BKP1810_after_writing_the_day_and_the_next_Store_does_not_write_it_again()
    {
        Tool.Require("bsdtar");
        var staging = SmallDisk("stagingdisk", 8);
        var image = _t["media/backup.iso"];
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        var p = new BackupProject(_t.Path).Property("StagingDir", staging + "/")
            .Property("StoreMediaType", "image").Property("StoreImageFile", image);
        var monday = Path.Combine(staging, "2026/11/23");
        KillData.Files(Path.Combine(monday, "master"), "m", 3, 100 * 1024, 1);
        File.WriteAllText(Path.Combine(monday, "master", "cback.collect"), "");
        File.WriteAllText(Path.Combine(monday, "cback.stage"), "");
        FillUp(staging);

        var full = p.Run("Store", "BackupRunDate=2026-11-23T02:00");
        var marker = Path.Combine(monday, "cback.store");
        AssertCodedFailure(full, "BKP1810", marker);
        Assert.Contains("holds staging day 2026/11/23 whole", full.Output);
        Assert.DoesNotContain("MSB4018", full.Output);
        Assert.False(File.Exists(marker));
        Assert.Empty(Directory.GetFiles(monday, ".bkp-tmp-*"));
        Assert.Contains("2026/11/23/master/cback.collect", Tool.Run("bsdtar", "-tf", image).Output);
        var written = File.ReadAllBytes(image);

        // Still full: the same coded error, and the day is not written again.
        var again = p.Run("Store", "BackupRunDate=2026-11-23T02:30");
        AssertCodedFailure(again, "BKP1810", marker);
        Assert.Equal(written, File.ReadAllBytes(image));

        File.Delete(Path.Combine(staging, "filler"));
        var later = p.Run("Store", "BackupRunDate=2026-11-23T03:00");
        Assert.True(later.ExitCode == 0, later.All);
        Assert.Contains("already holds staging day 2026/11/23", later.Output);
        Assert.Equal(written, File.ReadAllBytes(image)); // one session, not the day twice
        Assert.True(File.Exists(marker));

        // And now it is stored: the next Store of the day skips it as usual.
        var skip = p.Run("Store", "BackupRunDate=2026-11-23T04:00");
        Assert.True(skip.ExitCode == 0, skip.All);
        Assert.Contains("Skipping target \"CoreStore\"", skip.Output); // its stamp: nothing changed since that Store
    }
}
