using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Stage;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 4: a local peer's collect dir is written by that peer (an NFS mount of a client, a
/// folder of another user), so whatever is in it can be swapped at any moment. Stage must open each
/// file beneath the collect dir without following a link and take every fact from the opened file; it
/// must never stage what a link points at, and never give a staged file its source's mode.
/// </summary>
public sealed class StageLinkSwapTests : IDisposable
{
    private readonly StageFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void An_archive_swapped_back_and_forth_for_a_link_to_a_secret_is_never_staged()
    {
        var secretPath = _f.Temp["root-only/id_ed25519"];
        var secret = StagingAudit.WriteSecret(secretPath);
        var victim = _f.ReadyPeer("victim", ("a.tar", "the real archive"), ("b.tar", "another archive"));
        _f.ReadyPeer("good", ("web.tar", "good archive"));
        var archive = Path.Combine(victim, "a.tar");
        File.SetUnixFileMode(archive, (UnixFileMode)0x1ED); // 0755: a staged copy must not get it
        var secretBefore = StagingAudit.Exact(Path.GetDirectoryName(secretPath)!);

        // The attacker owns the collect dir: swaps a.tar for a symlink to the secret and back, as fast as
        // it can, each swap one atomic rename (its own temporary names are ones Stage skips).
        using var stop = new CancellationTokenSource();
        var swaps = 0;
        var swapper = new Thread(() =>
        {
            var link = Path.Combine(victim, AtomicFile.TempPrefix + "link");
            var file = Path.Combine(victim, AtomicFile.TempPrefix + "file");
            while (!stop.IsCancellationRequested)
            {
                File.CreateSymbolicLink(link, secretPath);
                File.Move(link, archive, overwrite: true);
                File.WriteAllText(file, "the real archive");
                File.Move(file, archive, overwrite: true);
                swaps++;
            }
        });
        swapper.Start();
        int staged = 0, refused = 0;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(8);
            for (var run = 0; run < 400 && DateTime.UtcNow < deadline; run++)
            {
                var ok = _f.Run(new[] { _f.Peer("victim"), _f.Peer("good") });
                if (ok) staged++; else refused++;
                var errors = _f.Engine.Errors.Select(e => e.Code).ToList();
                Assert.All(errors, c => Assert.Contains(c, new[] { "BKP3026", "BKP3027", "BKP3101" }));
                Assert.True(File.Exists(Path.Combine(_f.StagingDay, Indicators.Stage)), "the day was not marked staged");
                Assert.Equal("good archive", File.ReadAllText(Path.Combine(_f.StagingDay, "good", "web.tar")));
                StagingAudit.AssertClean(_f.StagingDir, _f.StagingDay, secret);
            }
        }
        finally
        {
            stop.Cancel();
            swapper.Join();
        }

        Assert.True(swaps > 100, "the swapper did not run: " + swaps);
        Assert.True(staged + refused > 10, $"only {staged + refused} runs");
        var copy = Path.Combine(_f.StagingDay, "victim", "a.tar");
        if (File.Exists(copy)) Assert.Equal("the real archive", File.ReadAllText(copy));
        Assert.Equal("another archive", File.ReadAllText(Path.Combine(_f.StagingDay, "victim", "b.tar")));
        Assert.Equal(secretBefore, StagingAudit.Exact(Path.GetDirectoryName(secretPath)!));
    }

    [Fact]
    public void An_archive_that_is_a_link_to_a_secret_fails_that_peer_only_and_marks_nothing_in_its_collect_dir()
    {
        var secretPath = _f.Temp["root-only/shadow"];
        var secret = StagingAudit.WriteSecret(secretPath);
        var victim = _f.ReadyPeer("victim", ("b.tar", "an archive"));
        File.CreateSymbolicLink(Path.Combine(victim, "a.tar"), secretPath);
        var fifo = Path.Combine(victim, "c.tar");
        Assert.Equal(0, Tool.Run("mkfifo", fifo).ExitCode); // opening it must not hang the run
        _f.ReadyPeer("good", ("web.tar", "good archive"));
        var victimBefore = StagingAudit.Exact(victim);

        Assert.False(_f.Run(new[] { _f.Peer("victim"), _f.Peer("good") }));

        Assert.Equal(new[] { "BKP3026", "BKP3026" }, _f.Engine.Errors.Select(e => e.Code).ToArray());
        Assert.All(_f.Engine.Errors, e => Assert.Contains("\"victim\"", e.Message));
        StagingAudit.AssertClean(_f.StagingDir, _f.StagingDay, secret);
        Assert.False(Path.Exists(Path.Combine(_f.StagingDay, "victim", "a.tar")));
        Assert.Equal("an archive", File.ReadAllText(Path.Combine(_f.StagingDay, "victim", "b.tar")));
        Assert.Equal("good archive", File.ReadAllText(Path.Combine(_f.StagingDay, "good", "web.tar")));
        Assert.True(File.Exists(Path.Combine(_f.StagingDay, Indicators.Stage)));
        Assert.True(File.Exists(Path.Combine(_f.CollectDir("good"), Indicators.Stage)));
        Assert.Equal(victimBefore, StagingAudit.Exact(victim)); // no cback.stage, the link and fifo as they were
    }

    [Fact]
    public void A_collect_dir_swapped_for_a_link_is_not_followed()
    {
        // The folder the link points at is ready (another peer's collect dir, or one the attacker
        // prepared): following the link would stage its secret and write cback.stage into it.
        var elsewhere = _f.ReadyPeer("master", ("etc.tar", "the master's /etc"));
        var secret = StagingAudit.WriteSecret(Path.Combine(elsewhere, "ssh_host_ed25519_key"));
        var victim = _f.CollectDir("victim");
        Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
        File.CreateSymbolicLink(victim, elsewhere);
        _f.ReadyPeer("good", ("web.tar", "good archive"));
        var elsewhereBefore = StagingAudit.Exact(elsewhere);

        // Both spellings: a trailing slash makes the kernel follow a link unless it is stripped first.
        foreach (var collectDir in new[] { victim, victim + "/" })
        {
            Assert.False(_f.Run(new[] { StageFixture.Peer("victim", collectDir), _f.Peer("good") }));

            var error = Assert.Single(_f.Engine.Errors);
            Assert.Equal("BKP3100", error.Code);
            Assert.Contains("\"victim\"", error.Message);
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_f.StagingDay, "victim")));
            StagingAudit.AssertClean(_f.StagingDir, _f.StagingDay, secret);
            Assert.Equal("good archive", File.ReadAllText(Path.Combine(_f.StagingDay, "good", "web.tar")));
            Assert.True(File.Exists(Path.Combine(_f.StagingDay, Indicators.Stage)));
            Assert.Equal(elsewhereBefore, StagingAudit.Exact(elsewhere));
        }
    }

    [Fact]
    public void Staged_files_are_created_owner_only_whatever_mode_the_source_has()
    {
        var collect = _f.ReadyPeer("master", ("a.tar", "world readable"), ("b.tar", "setuid"));
        File.SetUnixFileMode(Path.Combine(collect, "a.tar"), (UnixFileMode)0x1B6);  // 0666
        File.SetUnixFileMode(Path.Combine(collect, "b.tar"), (UnixFileMode)0x9ED);  // 04755

        Assert.True(_f.Run(new[] { _f.Peer("master") }), _f.Engine.AllText);

        foreach (var name in new[] { "a.tar", "b.tar", Indicators.Collect })
            Assert.Equal(0x180u, Posix.LStat(Path.Combine(_f.StagingDay, "master", name), out _)!.Value.Permissions);
        Assert.Equal(0x180u, Posix.LStat(Path.Combine(collect, Indicators.Stage), out _)!.Value.Permissions);
    }

    [Fact]
    public void End_to_end_a_link_in_a_collect_dir_and_a_linked_collect_dir_stage_nothing_of_theirs()
    {
        using var t = new TempDir();
        var secretPath = t["root-only/id_rsa"];
        var secret = StagingAudit.WriteSecret(secretPath);
        var linked = t.Dir("peers/linked/collect");
        t.File("peers/linked/collect/etc.tar", "linked archive");
        File.CreateSymbolicLink(Path.Combine(linked, "a.tar"), secretPath);
        t.File("peers/linked/collect/cback.collect");
        var swapped = t["peers/swapped/collect"];
        t.Dir("peers/swapped");
        File.CreateSymbolicLink(swapped, Path.GetDirectoryName(secretPath)!);
        t.File("root-only/cback.collect");
        var good = t.Dir("peers/good/collect");
        t.File("peers/good/collect/web.tar", "good archive");
        t.File("peers/good/collect/cback.collect");
        var linkedBefore = StagingAudit.Exact(linked);
        var secretBefore = StagingAudit.Exact(Path.GetDirectoryName(secretPath)!);

        var p = new BackupProject(t.Path)
            .Item("Peer", "linked", ("Type", "local"), ("CollectDir", linked))
            .Item("Peer", "swapped", ("Type", "local"), ("CollectDir", swapped))
            .Item("Peer", "good", ("Type", "local"), ("CollectDir", good));
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP3026: Peer \"linked\"", run.Output);
        Assert.Contains("error BKP3100: Peer \"swapped\"", run.Output);
        Assert.DoesNotContain("MSB4018", run.Output);
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        StagingAudit.AssertClean(p.StagingDir, day, secret);
        Assert.Equal("good archive", File.ReadAllText(Path.Combine(day, "good", "web.tar")));
        Assert.Equal("linked archive", File.ReadAllText(Path.Combine(day, "linked", "etc.tar")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(day, "swapped")));
        Assert.True(File.Exists(Path.Combine(day, Indicators.Stage)));
        Assert.Equal(linkedBefore, StagingAudit.Exact(linked));
        Assert.Equal(secretBefore, StagingAudit.Exact(Path.GetDirectoryName(secretPath)!)); // no cback.stage written through the link
    }
}

/// <summary>What the file system holds after an attack on Stage, read with lstat (never through a link).</summary>
public static class StagingAudit
{
    /// <summary>Every entry under a folder: relative path → mode, size, mtime (ns), and a link's target.</summary>
    public static Dictionary<string, string> Exact(string root)
    {
        var result = new Dictionary<string, string>();
        void Walk(string dir)
        {
            foreach (var name in Posix.ReadDirectory(dir, out _) ?? new List<byte[]>())
            {
                var path = dir + "/" + PosixPath.Decode(name);
                var st = Posix.LStat(path, out _)!.Value;
                var link = st.IsSymlink ? " -> " + Posix.ReadLink(path, out _) : "";
                result[Path.GetRelativePath(root, path)] = $"{Convert.ToString(st.Mode, 8)} {st.Size} {st.MtimeSeconds}.{st.MtimeNanos:d9}{link}";
                if (st.IsDirectory) Walk(path);
            }
        }
        Walk(root.TrimEnd('/'));
        return result;
    }

    /// <summary>
    /// No symlink anywhere under <paramref name="stagingRoot"/> and no file holding <paramref name="secret"/>;
    /// the day folder holds only peer folders and its cback.stage; each peer folder only regular files of mode 0600.
    /// </summary>
    public static void AssertClean(string stagingRoot, string day, byte[] secret)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(stagingRoot, "*", SearchOption.AllDirectories))
        {
            var st = Posix.LStat(path, out _)!.Value;
            Assert.False(st.IsSymlink, "a symbolic link was staged: " + path);
            if (st.IsRegular)
                Assert.False(Contains(File.ReadAllBytes(path), secret), "the secret's bytes were staged in " + path);
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(day))
        {
            if (!Posix.LStat(entry, out _)!.Value.IsDirectory)
            {
                Assert.Equal(Indicators.Stage, Path.GetFileName(entry));
                continue;
            }
            foreach (var staged in Directory.EnumerateFileSystemEntries(entry))
            {
                var s = Posix.LStat(staged, out _)!.Value;
                Assert.True(s.IsRegular, "not a regular file in a peer's staging folder: " + staged);
                Assert.True(s.Permissions == 0x180, $"{staged} was staged with mode {Convert.ToString(s.Permissions, 8)}, not 600");
            }
        }
    }

    public static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>A 0600 file that must never be staged; returns its bytes.</summary>
    public static byte[] WriteSecret(string path)
    {
        var secret = System.Text.Encoding.ASCII.GetBytes("-----BEGIN SECRET " + Guid.NewGuid().ToString("N") + "-----");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, secret);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return secret;
    }
}
