using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Stage;

/// <summary>
/// The master's SSH.NET connection to a peer against a real sshd: failures named from the protocol (refused key, host
/// key, unreachable, dropped), bounded output, timeouts and cancellation; and Stage's use of it (one connection per
/// peer for the listing and the staged mark, rsync's own ssh for the copy).
/// </summary>
public class SshConnectionTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public SshConnectionTests(SshServer ssh) => _ssh = ssh;

    private SshEndpoint Endpoint(string? key = null, string? knownHosts = null, int? port = null, string ciphers = "") =>
        new("127.0.0.1", port ?? _ssh.Port, "root", key ?? _ssh.ClientKey, knownHosts ?? _ssh.KnownHosts, new[] { "ssh" },
            TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)) { Ciphers = ciphers };

    [Fact]
    public void Failures_are_classified_from_the_protocol()
    {
        Assert.Null(SshConnection.Open(Endpoint(key: _ssh.StrangerKey), CancellationToken.None, out var refused, out var v1));
        Assert.Equal(RemoteShell.Failure.AuthenticationRefused, refused!.Kind);
        Assert.Equal(HostKeyVerdict.Accepted, v1);

        Assert.Null(SshConnection.Open(Endpoint(knownHosts: _ssh.WrongKnownHosts), CancellationToken.None, out var hostKey, out var v2));
        Assert.Equal(RemoteShell.Failure.HostKey, hostKey!.Kind);
        Assert.Equal(HostKeyVerdict.Changed, v2);
        Assert.Contains("differs from the one known", hostKey.Detail);

        Assert.Null(SshConnection.Open(Endpoint(port: SshServer.FreePort()), CancellationToken.None, out var down, out var v3));
        Assert.Equal(RemoteShell.Failure.Unreachable, down!.Kind);
        Assert.Contains("Connection refused", down.Detail);
        Assert.Null(v3);

        Assert.Null(SshConnection.Open(Endpoint(key: _ssh.ClientKey + ".missing"), CancellationToken.None, out var noKey, out _));
        Assert.Equal(RemoteShell.Failure.AuthenticationRefused, noKey!.Kind);
        Assert.Contains(".missing", noKey.Detail);

        Assert.Null(SshConnection.Open(Endpoint(ciphers: "3des-cbc-nonexistent"), CancellationToken.None, out var ciphers, out _));
        Assert.Equal(RemoteShell.Failure.Unsupported, ciphers!.Kind);

        // ssh's "^first" syntax (the default SshCiphers) is understood.
        using var gcm = SshConnection.Open(Endpoint(ciphers: "^aes128-gcm@openssh.com"), CancellationToken.None, out var none, out _);
        Assert.True(gcm != null, none?.Detail);
    }

    [Fact]
    public void Commands_share_one_connection_their_output_is_bounded_and_timeouts_and_cancellation_stop_them()
    {
        var before = _ssh.Logins;
        using var c = SshConnection.Open(Endpoint(), CancellationToken.None, out var failure, out _);
        Assert.True(c != null, failure?.Detail);

        var ok = c!.Execute("printf 'a\\0b'; echo oops >&2; exit 3", TimeSpan.FromSeconds(60), CancellationToken.None, 1 << 20, out var f1);
        Assert.Null(f1); // the command ran: its exit status is the command's own
        Assert.Equal(3, ok.ExitCode);
        Assert.Equal("a\0b"u8.ToArray(), ok.OutputBytes);
        Assert.Contains("oops", ok.Error);

        var big = c.Execute("head -c 3000000 /dev/zero", TimeSpan.FromSeconds(60), CancellationToken.None, 1 << 20, out _);
        Assert.True(big.Overflowed);
        Assert.True(big.OutputBytes.Length <= 1 << 20);

        var clock = Stopwatch.StartNew();
        var slow = c.Execute("sleep 60", TimeSpan.FromSeconds(2), CancellationToken.None, 1 << 20, out var f2);
        Assert.True(slow.TimedOut);
        Assert.Equal(RemoteShell.Failure.Dropped, f2!.Kind);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), clock.Elapsed.ToString());

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        clock.Restart();
        Assert.ThrowsAny<OperationCanceledException>(() => c.Execute("sleep 60", TimeSpan.FromMinutes(5), cancel.Token, 1 << 20, out _));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), clock.Elapsed.ToString());

        var after = c.Execute("echo still here", TimeSpan.FromSeconds(60), CancellationToken.None, 1 << 20, out var f3);
        Assert.True(after.Succeeded, f3?.Detail);
        Assert.Equal(1, _ssh.Logins - before); // five commands, one login
    }
}

/// <summary>A connection dropped while a command runs (the server stops): Dropped, not a command failure.</summary>
public class SshConnectionDroppedTests
{
    [Fact]
    public void A_connection_dropped_mid_command_is_classified_as_dropped()
    {
        using var ssh = new SshServer();
        var endpoint = new SshEndpoint("127.0.0.1", ssh.Port, "root", ssh.ClientKey, ssh.KnownHosts, new[] { "ssh" },
            TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        using var c = SshConnection.Open(endpoint, CancellationToken.None, out var failure, out _);
        Assert.True(c != null, failure?.Detail);
        var stopper = Task.Run(() => { Thread.Sleep(1500); ssh.Stop(); });
        var r = c!.Execute("sleep 30", TimeSpan.FromMinutes(2), CancellationToken.None, 1 << 20, out var dropped);
        stopper.Wait();
        Assert.False(r.Succeeded);
        Assert.Equal(RemoteShell.Failure.Dropped, dropped!.Kind);
    }
}

/// <summary>Stage over SSH.NET: connections per peer, and a revoked host key refused before anything runs.</summary>
public class SshNetStageTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public SshNetStageTests(SshServer ssh) => _ssh = ssh;

    [Fact]
    public void A_peer_costs_one_connection_changed_or_unchanged_and_rsync_its_own()
    {
        using var t = new TempDir();
        var dir = t.Dir("peers/web/collect");
        File.WriteAllText(Path.Combine(dir, "web.tar.gz"), "archive");
        File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
        var p = new BackupProject(t.Path).Item("Peer", "web", _ssh.PeerMetadata(dir));

        var before = _ssh.Logins;
        var first = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("Stage web: staged", first.Output);
        Assert.True(File.Exists(Path.Combine(dir, "cback.stage")));
        // Listing, copy (RemoteCopy "ssh", the scp protocol) and staged mark over one SSH.NET connection: one login
        // (with rsync's ssh for the copy it was two, with OpenSSH alone three).
        Assert.Equal(1, _ssh.Logins - before);
        Assert.Equal("archive", File.ReadAllText(Path.Combine(p.StagingDir, "2026/11/24/web/web.tar.gz")));

        before = _ssh.Logins;
        var again = p.Run("Stage", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("Stage web: skipped, unchanged since staged", again.Output);
        Assert.Equal(1, _ssh.Logins - before);

        // RemoteCopy "rsync": the copy over rsync's own ssh, a second login.
        File.Delete(Path.Combine(dir, "cback.stage"));
        File.WriteAllText(Path.Combine(dir, "web.tar.gz"), "archive, changed once");
        var rsync = new BackupProject(t.Path).Item("Peer", "web", _ssh.PeerMetadata(dir, ("RemoteCopy", "rsync")));
        before = _ssh.Logins;
        var viaRsync = rsync.Run("Stage", "BackupRunDate=2026-11-24T03:30");
        Assert.True(viaRsync.ExitCode == 0, viaRsync.All);
        Assert.Equal(2, _ssh.Logins - before);
        Assert.Equal("archive, changed once", File.ReadAllText(Path.Combine(p.StagingDir, "2026/11/24/web/web.tar.gz")));

        // RemoteShell other than plain "ssh": every command on that program, as before (three ssh processes; RemoteCopy
        // "ssh" has no connection to copy over and copies with rsync).
        File.Delete(Path.Combine(dir, "cback.stage"));
        File.WriteAllText(Path.Combine(dir, "web.tar.gz"), "archive, changed");
        var openssh = new BackupProject(t.Path).Item("Peer", "web", _ssh.PeerMetadata(dir, ("RemoteShell", "/usr/bin/ssh")));
        before = _ssh.Logins;
        var old = openssh.Run("Stage", "BackupRunDate=2026-11-24T04:00");
        Assert.True(old.ExitCode == 0, old.All);
        Assert.Equal(3, _ssh.Logins - before);
    }

    [Fact]
    public void A_revoked_host_key_is_refused_by_the_connection_before_anything_runs()
    {
        using var t = new TempDir();
        var dir = t.Dir("peers/web/collect");
        File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
        var known = t.File("known_hosts", $"@revoked * {_ssh.PublicKey("host")}\n{File.ReadAllText(_ssh.KnownHosts)}");
        var p = new BackupProject(t.Path).Item("Peer", "web", _ssh.PeerMetadata(dir, ("KnownHostsFile", known)));
        var before = _ssh.Logins;
        var run = p.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 1 && run.Output.Contains("error BKP3052"), run.All);
        Assert.Contains("@revoked", run.Output);
        Assert.Contains("update " + known, run.Output);
        Assert.Equal(0, _ssh.Logins - before);
        Assert.False(File.Exists(Path.Combine(dir, "cback.stage")));
    }
}
