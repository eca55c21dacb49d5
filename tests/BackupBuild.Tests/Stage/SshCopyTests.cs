using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Stage;

/// <summary>The copy over the peer's connection (RemoteCopy "ssh") against a real sshd whose peer misbehaves half-way.</summary>
public class SshCopyTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public SshCopyTests(SshServer ssh) => _ssh = ssh;

    [Fact]
    public void A_peer_that_stops_sending_half_way_is_its_own_BKP3053_after_SshIdleTimeout_and_the_others_are_staged()
    {
        using var t = new TempDir();
        var good = t.Dir("peers/good/collect");
        File.WriteAllText(Path.Combine(good, "good.tar.gz"), "good archive");
        File.WriteAllText(Path.Combine(good, "cback.collect"), "");
        var hung = t.Dir("peers/hung/collect");
        File.WriteAllText(Path.Combine(hung, "data.tar"), new string('d', 100));
        File.WriteAllText(Path.Combine(hung, "cback.collect"), "");
        // The hung peer's scp announces data.tar, sends 10 of its 100 bytes and then nothing (for 120 s).
        var script = t.File("hung-peer", """
            #!/bin/sh
            case "$SSH_ORIGINAL_COMMAND" in
              scp\ *) printf 'T1700000000 0 1700000000 0\nC0644 100 data.tar\n0123456789'; exec sleep 120 ;;
              *) exec /bin/sh -c "$SSH_ORIGINAL_COMMAND" ;;
            esac
            """);
        File.SetUnixFileMode(script, (UnixFileMode)0x1ED);
        var key = _ssh.NewKey("hung-copy");
        _ssh.Authorize((_ssh.ClientKey, null), (key, script));
        var p = new BackupProject(t.Path)
            .Item("Peer", "hung", _ssh.PeerMetadata(hung, ("IdentityFile", key)))
            .Item("Peer", "good", _ssh.PeerMetadata(good));

        var clock = Stopwatch.StartNew();
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T02:00", "SshIdleTimeout=6");
        clock.Stop();

        Assert.True(run.ExitCode == 1, run.All);
        Assert.Contains("error BKP3053: Copying peer \"hung\"", run.Output);
        Assert.Contains("SshIdleTimeout", run.Output);
        Assert.Contains("Stage good: staged", run.Output);
        var day = Path.Combine(p.StagingDir, "2026/11/24");
        Assert.Equal("good archive", File.ReadAllText(Path.Combine(day, "good", "good.tar.gz")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(day, "hung")));
        Assert.False(File.Exists(Path.Combine(hung, Indicators.Stage)));
        Assert.True(File.Exists(Path.Combine(good, Indicators.Stage)));
        // Bounded by the idle timeout (6 s, and 10 s more at most to close a connection that no longer answers), not by the
        // peer's 120 s: generous for a loaded machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"Stage took {clock.Elapsed}");
    }
}
