using System.Text.RegularExpressions;
using BackupBuild.Tasks.Store.Iso;
using BackupBuild.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace BackupBuild.Tests.Store;

/// <summary>
/// Image files that grow session by session, as a week of Store runs grows them: every reader sees every
/// day, earlier data is never copied again, and an interrupted append leaves the image as it was.
/// </summary>
[Trait("Tier", "Fast")]
public class MultisessionImageTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_reader_sees_every_day_after_three_sessions_and_xorriso_lists_the_sessions()
    {
        Tool.Require("xorriso");
        Tool.Require("bsdtar");
        Tool.Require("isoinfo");
        using var t = new TempDir();
        var mon = t.Dir("staging/mon");
        var tue = t.Dir("staging/tue");
        var wed = t.Dir("staging/wed");
        OddTree.CreateDay1(mon);
        OddTree.CreateDay2(tue);
        OddTree.File(wed, "peer/cback.collect", "");
        OddTree.File(wed, "peer/data.tar.gz", "wednesday\n");
        var image = t["backup.iso"];

        SessionMedium.New(image, "CEDAR BACKUP 23-NOV-2026", ("2026/11/23", mon));
        SessionMedium.Append(image, "CEDAR BACKUP 24-NOV-2026", ("2026/11/24", tue));
        SessionMedium.Append(image, "CEDAR BACKUP 25-NOV-2026", ("2026/11/25", wed));

        var state = SessionMedium.Inspect(image);
        Assert.Equal(3, state.Sessions.Count);
        Assert.Equal(32u, state.Sessions[0].Start);
        Assert.All(state.Sessions, s => Assert.Equal(0u, s.Start % 32));
        Assert.Equal("CEDAR BACKUP 25-NOV-2026", state.Head!.VolumeId);
        // Monday's 4 MiB file is on the image once: later sessions point at it.
        Assert.InRange(new FileInfo(image).Length, 4 << 20, 6 << 20);

        var toc = Tool.Run("xorriso", "-indev", image, "-toc");
        Assert.True(toc.ExitCode == 0, toc.All);
        var sessions = Regex.Matches(toc.Output, @"ISO session\s*:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)s\s*,\s*(.*)");
        Assert.Equal(3, sessions.Count);
        Assert.Equal(state.Sessions.Select(s => $"{s.Start}/{s.Blocks}/{s.VolumeId}"),
            sessions.Select(m => $"{m.Groups[2].Value}/{m.Groups[3].Value}/{m.Groups[4].Value.Trim()}"));

        var byXorriso = t.Dir("xorriso");
        var extract = Tool.Run("xorriso", "-indev", image, "-osirrox", "on", "-extract", "/", byXorriso);
        Assert.True(extract.ExitCode == 0, extract.All);
        Assert.DoesNotMatch(new Regex(@"FAILURE|SORRY|WARNING|MISHAP"), extract.All);
        var byBsdtar = t.Dir("bsdtar");
        var untar = Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar);
        Assert.True(untar.ExitCode == 0 && untar.Error == "", untar.All);
        foreach (var (reader, root) in new[] { ("xorriso", byXorriso), ("bsdtar", byBsdtar) })
        {
            TreeAssert.SameTree(mon, Path.Combine(root, "2026/11/23"), reader);
            TreeAssert.SameTree(tue, Path.Combine(root, "2026/11/24"), reader);
            TreeAssert.SameTree(wed, Path.Combine(root, "2026/11/25"), reader);
        }

        var info = Tool.Run("isoinfo", "-d", "-i", image).Output;
        Assert.Contains("Volume id: CEDAR BACKUP 25-NOV-2026", info);
        Assert.Equal("Übersicht ✓\n", Tool.Run("isoinfo", "-R", "-x", "/2026/11/23/" + OddTree.Utf8Name, "-i", image).Output);
        Assert.Equal("nested\n", Tool.Run("isoinfo", "-R", "-x", "/2026/11/24/nested/again.txt", "-i", image).Output);
        Assert.Equal("wednesday\n", Tool.Run("isoinfo", "-R", "-x", "/2026/11/25/peer/data.tar.gz", "-i", image).Output);

        KernelMount(image, root => TreeAssert.SameTree(mon, Path.Combine(root, "2026/11/23"), "the kernel"));
    }

    [Fact]
    public void Xorriso_appends_to_our_image_and_we_append_to_xorrisos()
    {
        Tool.Require("xorriso");
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var mon = t.Dir("mon");
        OddTree.CreateDay2(mon);
        var extra = t.Dir("extra");
        OddTree.File(extra, "by xorriso.txt", "appended by xorriso\n");
        var wed = t.Dir("wed");
        OddTree.File(wed, "wed.txt", "ours again\n");
        var image = t["backup.iso"];

        SessionMedium.New(image, "CEDAR BACKUP 23-NOV-2026", ("2026/11/23", mon));
        var append = Tool.Run("xorriso", "-dev", "stdio:" + image, "-map", extra, "/2026/11/24", "-commit");
        Assert.True(append.ExitCode == 0, append.All);
        Assert.Equal(2, SessionMedium.Inspect(image).Sessions.Count);
        SessionMedium.Append(image, "CEDAR BACKUP 25-NOV-2026", ("2026/11/25", wed));
        Assert.Equal(3, SessionMedium.Inspect(image).Sessions.Count);

        var byBsdtar = t.Dir("bsdtar");
        Assert.Equal(0, Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar).ExitCode);
        TreeAssert.SameTree(mon, Path.Combine(byBsdtar, "2026/11/23"), "bsdtar");
        Assert.Equal("appended by xorriso\n", File.ReadAllText(Path.Combine(byBsdtar, "2026/11/24/by xorriso.txt")));
        Assert.Equal("ours again\n", File.ReadAllText(Path.Combine(byBsdtar, "2026/11/25/wed.txt")));
        Assert.Contains("ISO session  :   3", Tool.Run("xorriso", "-indev", image, "-toc").Output);
    }

    [Fact]
    public void An_image_written_in_one_piece_by_an_earlier_version_takes_sessions_too()
    {
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var mon = t.Dir("mon");
        OddTree.CreateDay2(mon);
        var tue = t.Dir("tue");
        OddTree.File(tue, "tue.txt", "tuesday\n");
        var image = t["backup.iso"];
        var old = new IsoImageBuilder("CEDAR BACKUP 23-NOV-2026"); // session at block 0, no head of its own
        old.AddDirectory("2026/11/23", mon);
        using (var stream = File.Create(image)) old.WriteTo(stream);
        Assert.Equal(0u, Assert.Single(SessionMedium.Inspect(image).Sessions).Start);

        SessionMedium.Append(image, "CEDAR BACKUP 24-NOV-2026", ("2026/11/24", tue));
        var byBsdtar = t.Dir("out");
        Assert.Equal(0, Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar).ExitCode);
        TreeAssert.SameTree(mon, Path.Combine(byBsdtar, "2026/11/23"), "bsdtar");
        Assert.Equal("tuesday\n", File.ReadAllText(Path.Combine(byBsdtar, "2026/11/24/tue.txt")));
    }

    [Fact]
    public void A_killed_append_leaves_the_image_readers_saw_before_and_the_next_append_works()
    {
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var mon = t.Dir("mon");
        OddTree.File(mon, "monday.txt", "monday\n");
        var tue = t.Dir("tue");
        var big = new byte[9 << 20]; // more than two of the writer's 4 MiB buffers
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(tue, "big.bin"), big);
        var image = t["backup.iso"];
        SessionMedium.New(image, "CEDAR BACKUP 23-NOV-2026", ("2026/11/23", mon));
        var before = File.ReadAllBytes(image);

        using var kill = new CancellationTokenSource();
        var progress = new Progress<long>(_ => kill.Cancel());
        Assert.ThrowsAny<OperationCanceledException>(() =>
            SessionMedium.Append(image, "CEDAR BACKUP 24-NOV-2026", kill.Token, new SyncProgress(_ => kill.Cancel()), ("2026/11/24", tue)));

        var after = File.ReadAllBytes(image);
        Assert.True(after.Length > before.Length, "part of the new session was written");
        Assert.Equal(before, after[..before.Length]);
        Assert.Single(SessionMedium.Inspect(image).Sessions);
        var listing = Tool.Run("bsdtar", "-tf", image).Output;
        Assert.Contains("2026/11/23/monday.txt", listing);
        Assert.DoesNotContain("2026/11/24", listing);

        SessionMedium.Append(image, "CEDAR BACKUP 24-NOV-2026", ("2026/11/24", tue));
        Assert.Equal(2, SessionMedium.Inspect(image).Sessions.Count);
        var byBsdtar = t.Dir("out");
        Assert.Equal(0, Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar).ExitCode);
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(byBsdtar, "2026/11/24/big.bin")));
        Assert.Equal("monday\n", File.ReadAllText(Path.Combine(byBsdtar, "2026/11/23/monday.txt")));
    }

    [Fact]
    public void A_day_stored_again_replaces_the_earlier_copy_in_the_new_session()
    {
        Tool.Require("bsdtar");
        using var t = new TempDir();
        var first = t.Dir("first");
        OddTree.File(first, "peer/a.tar", "first a\n");
        OddTree.File(first, "peer/gone.tar", "removed later\n");
        var second = t.Dir("second");
        OddTree.File(second, "peer/a.tar", "second a, longer\n");
        OddTree.File(second, "peer/new.tar", "new\n");
        var image = t["backup.iso"];
        SessionMedium.New(image, "CEDAR BACKUP 23-NOV-2026", ("2026/11/23", first));
        SessionMedium.Append(image, "CEDAR BACKUP 23-NOV-2026", ("2026/11/23", second));

        var byBsdtar = t.Dir("out");
        Assert.Equal(0, Tool.Run("bsdtar", "-xf", image, "-C", byBsdtar).ExitCode);
        TreeAssert.SameTree(second, Path.Combine(byBsdtar, "2026/11/23"), "bsdtar");
    }

    /// <summary>Mounts the image read-only through a loop device where the machine allows it (root, iso9660 in the kernel).</summary>
    private void KernelMount(string image, Action<string> check)
    {
        var filesystems = File.Exists("/proc/filesystems") ? File.ReadAllText("/proc/filesystems") : "";
        if (!BackupBuild.Tasks.Infrastructure.Posix.IsRoot || !filesystems.Contains("iso9660"))
        {
            output.WriteLine("The kernel cannot mount ISO 9660 here (not root, or no iso9660 driver): loop mount not checked.");
            return;
        }
        var mountPoint = Path.Combine(Path.GetDirectoryName(image)!, "mnt");
        Directory.CreateDirectory(mountPoint);
        var mount = Tool.Run("mount", "-t", "iso9660", "-o", "loop,ro", image, mountPoint);
        if (mount.ExitCode != 0)
        {
            output.WriteLine("Loop mount refused here: " + mount.All);
            return;
        }
        try { check(mountPoint); }
        finally { Tool.Run("umount", mountPoint); }
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
