using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>Stage over a real sshd on 127.0.0.1: remote peers beside a local one, and what goes wrong.</summary>
public class RemoteStageTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public RemoteStageTests(SshServer ssh) => _ssh = ssh;

    private static string ReadyCollectDir(TempDir t, string name, int size = 2000)
    {
        var dir = t.Dir("peers/" + name + "/collect");
        var data = new byte[size];
        new Random(name.GetHashCode()).NextBytes(data);
        File.WriteAllBytes(Path.Combine(dir, "srv-" + name + ".tar.gz"), data);
        File.WriteAllText(Path.Combine(dir, "etc-" + name + " with space.tar"), "archive of " + name);
        File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
        return dir;
    }

    private static void AssertStaged(string collectDir, string stagedDir)
    {
        foreach (var f in Directory.GetFiles(collectDir).Where(f => Path.GetFileName(f) != "cback.stage"))
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(stagedDir, Path.GetFileName(f))));
    }

    [Fact]
    public void A_pool_of_two_remote_peers_and_one_local_is_staged_and_a_second_stage_copies_nothing()
    {
        using var t = new TempDir();
        var web = ReadyCollectDir(t, "web");
        var db = ReadyCollectDir(t, "db");
        var master = ReadyCollectDir(t, "master");
        var p = new BackupProject(t.Path)
            .Item("Peer", "web", _ssh.PeerMetadata(web))
            .Item("Peer", "db", _ssh.PeerMetadata(db, ("RemoteCopy", "scp -O")))
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", master));
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 0, run.All);
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        foreach (var (name, dir) in new[] { ("web", web), ("db", db), ("master", master) })
        {
            AssertStaged(dir, Path.Combine(day, name));
            Assert.True(File.Exists(Path.Combine(dir, "cback.stage")), name + " was not marked staged");
            Assert.Contains($"Stage {name}: staged", run.Output);
        }
        Assert.True(File.Exists(Path.Combine(day, "cback.stage")));

        // (The local peer stages the cback.stage it got in the first run, as Cedar does; remote peers copy nothing.)
        var before = new[] { "web", "db" }.Select(n => Snapshot.Of(Path.Combine(day, n))).ToList();
        var again = p.Run("Stage", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("Stage web: skipped, unchanged since staged", again.Output);
        Assert.Contains("Stage db: skipped, unchanged since staged", again.Output);
        Assert.Equal(before, new[] { "web", "db" }.Select(n => Snapshot.Of(Path.Combine(day, n))).ToList());

        File.WriteAllText(Path.Combine(web, "srv-web.tar.gz"), "changed since");
        var third = p.Run("Stage", "BackupRunDate=2026-11-24T04:00");
        Assert.True(third.ExitCode == 0, third.All);
        Assert.Contains("Stage web: staged", third.Output);
        Assert.Contains("Stage db: skipped", third.Output);
        AssertStaged(web, Path.Combine(day, "web"));
    }

    [Fact]
    public void Every_staged_file_and_folder_is_flushed_to_disk_by_each_way_of_copying_before_the_day_is_marked_staged()
    {
        // A crash after a peer is marked staged must not lose what was staged: rsync, scp -O, the copy over the
        // connection and the local copy each leave data in the page cache until Stage fsyncs it (seen here by strace).
        using var t = new TempDir();
        var dirs = new[] { "viarsync", "viascp", "viaconn", "local" }.ToDictionary(n => n, n => ReadyCollectDir(t, n));
        var trace = Path.Combine(t.Path, "fsync.trace");
        var p = new BackupProject(t.Path)
            .Item("Peer", "viarsync", _ssh.PeerMetadata(dirs["viarsync"], ("RemoteCopy", "rsync")))
            .Item("Peer", "viascp", _ssh.PeerMetadata(dirs["viascp"], ("RemoteCopy", "scp -O")))
            .Item("Peer", "viaconn", _ssh.PeerMetadata(dirs["viaconn"]))
            .Item("Peer", "local", ("Type", "local"), ("CollectDir", dirs["local"]));
        // -ff: a file per process, so a call is never split into "<unfinished ...>" and "<... resumed>" lines by another
        // thread's call printed in between (the four peers are staged at the same time).
        p.Tracer = new[] { "strace", "-ff", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", trace };
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 0, run.All);
        var synced = Directory.GetFiles(t.Path, "fsync.trace.*").SelectMany(File.ReadAllLines)
            .Where(l => l.Contains("sync(") && l.Contains("= 0")).ToList();
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        foreach (var (name, dir) in dirs)
        {
            AssertStaged(dir, Path.Combine(day, name));
            if (name == "local") // each file flushed under its temporary name before it is renamed into place
                Assert.Equal(3, synced.Count(l => l.Contains(Path.Combine(day, name, ".bkp-tmp-"))));
            else
                foreach (var file in new[] { "srv-" + name + ".tar.gz", "etc-" + name + " with space.tar", "cback.collect" })
                    Assert.True(synced.Any(l => l.Contains("/" + file + ">")), $"{name}: {file} was never flushed:\n" + string.Join("\n", synced));
        }
        Assert.Contains(synced, l => l.Contains(day + ">"));
        Assert.Contains(synced, l => l.Contains(Path.Combine(day, "local") + ">"));
    }

    [Theory]
    [InlineData("down", "BKP3050")]
    [InlineData("hostkey", "BKP3052")]
    [InlineData("key", "BKP3051")]
    [InlineData("notready", "BKP3023")]
    public void A_broken_peer_is_an_error_for_that_peer_alone(string broken, string code)
    {
        using var t = new TempDir();
        var good = ReadyCollectDir(t, "good");
        var bad = ReadyCollectDir(t, "bad");
        var meta = broken switch
        {
            "down" => _ssh.PeerMetadata(bad, ("Port", SshServer.FreePort().ToString())),
            "hostkey" => _ssh.PeerMetadata(bad, ("KnownHostsFile", _ssh.WrongKnownHosts)),
            "key" => _ssh.PeerMetadata(bad, ("IdentityFile", _ssh.StrangerKey)),
            _ => _ssh.PeerMetadata(t.Dir("peers/bad/empty")),
        };
        var p = new BackupProject(t.Path)
            .Item("Peer", "good", _ssh.PeerMetadata(good))
            .Item("Peer", "bad", meta);
        var run = p.Run("Stage", "BackupRunDate=2026-11-25T02:00");
        Assert.Equal(1, run.ExitCode);
        Assert.True(run.Output.Contains("error " + code), run.Output);
        Assert.Contains("Stage bad: ", run.Output);
        // The cause reads as a sentence ("Connection refused. It was not staged.", not "refused It was").
        Assert.DoesNotMatch(@"[a-z] It was not staged", run.Output);
        Assert.DoesNotContain(".. ", run.Output);
        if (broken == "hostkey") Assert.Contains("update " + _ssh.WrongKnownHosts, run.Output);
        AssertStaged(good, Path.Combine(p.StagingDir, "2026/11/25/good"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(p.StagingDir, "2026/11/25/bad")));

        // The same failure, forgiven by IgnoreFailures, is a warning and the run succeeds.
        var forgiving = new BackupProject(t.Path)
            .Item("Peer", "good", _ssh.PeerMetadata(good))
            .Item("Peer", "bad", meta.Append(("IgnoreFailures", "all")).ToArray());
        var again = forgiving.Run("Stage", "BackupRunDate=2026-11-25T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.DoesNotContain("error BKP", again.Output);
    }
}

/// <summary>A transfer cut half-way by stopping the server: nothing half-copied looks staged.</summary>
public class RemoteStageInterruptedTests
{
    [Fact]
    public void A_connection_dropped_mid_copy_leaves_no_complete_looking_folder_and_the_next_run_stages()
    {
        using var ssh = new SshServer();
        using var t = new TempDir();
        var dir = t.Dir("peers/slow/collect");
        var big = new byte[3 << 20];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(dir, "big.tar.gz"), big);
        File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
        var p = new BackupProject(t.Path)
            .Item("Peer", "slow", ssh.PeerMetadata(dir, ("RemoteCopy", "rsync --bwlimit=300")));
        p.Write();

        var stage = Task.Run(() => p.Run("Stage", "BackupRunDate=2026-11-26T02:00"));
        var peerDir = Path.Combine(p.StagingDir, "2026/11/26/slow");
        var day = Path.GetDirectoryName(peerDir)!;
        // Wait until the copy is under way (a temporary folder appears), then cut the connection.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline &&
               !(Directory.Exists(day) && Directory.GetDirectories(day, ".bkp-tmp-*").Length > 0))
            Thread.Sleep(50);
        Thread.Sleep(1500);
        ssh.Stop();
        var run = stage.Result;
        Assert.True(run.ExitCode == 1 && run.Output.Contains("error BKP3053"), run.All);
        Assert.False(File.Exists(Path.Combine(peerDir, "big.tar.gz")));
        Assert.False(File.Exists(Path.Combine(dir, "cback.stage")));

        ssh.Start();
        var fast = new BackupProject(t.Path).Item("Peer", "slow", ssh.PeerMetadata(dir));
        var retry = fast.Run("Stage", "BackupRunDate=2026-11-26T03:00");
        Assert.True(retry.ExitCode == 0, retry.All);
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(peerDir, "big.tar.gz")));
        Assert.Empty(Directory.GetDirectories(day, ".bkp-tmp-*"));
    }
}
