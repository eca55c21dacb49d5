using System.Diagnostics;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Stage;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Stage;

/// <summary>
/// One SSH.NET connection per peer and build, shared by Stage and the managed runs after it (SshConnectionPool), against a
/// real sshd counting its logins; and what the key of a connection is made of.
/// </summary>
public class ManagedConnectionSharingTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public ManagedConnectionSharingTests(SshServer ssh) => _ssh = ssh;

    [Fact]
    public void A_managed_run_after_Stage_goes_over_the_connection_Stage_opened_one_per_peer()
    {
        using var t = new TempDir();
        t.File("client-data/d.txt", "client data");
        var client = new BackupProject(t.Dir("client")).Item("CollectDirectory", t["client-data"]);
        client.Write();
        var master = new BackupProject(t.Dir("master"));
        // Two peers on the same server, as the same user with the same key: still two peers, two connections.
        foreach (var name in new[] { "web", "db" })
        {
            var dir = t.Dir($"peers/{name}/collect");
            File.WriteAllText(Path.Combine(dir, name + ".tar.gz"), "archive of " + name);
            File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
            master.Item("Peer", name, _ssh.PeerMetadata(dir, ("Managed", "true"), ("ManagedActions", "purge"),
                ("ManagedProject", client.ProjectPath)));
        }

        var before = _ssh.Logins;
        var run = master.Run("Stage;Purge", "Managed=true", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("Stage web: staged", run.Output);
        Assert.Contains("Stage db: staged", run.Output);
        Assert.Contains("Purge on managed peer web succeeded", run.Output);
        Assert.Contains("Purge on managed peer db succeeded", run.Output);
        Assert.Contains("Managed peer web (root@" + _ssh.Address + "): over the connection already open in this run", run.Output);
        Assert.Contains("Managed peer db (root@" + _ssh.Address + "): over the connection already open in this run", run.Output);
        // Per peer: one SSH.NET login (listing, copy, staged mark, managed Purge). Before the copy went over it: two (rsync's
        // own); before the connection was shared: three (a connection of Stage's, rsync's, and one of the managed run's).
        Assert.Equal(2, _ssh.Logins - before);

        // Nothing changed on the peers: no copy, so each peer costs one login for Stage and its managed run together.
        before = _ssh.Logins;
        var again = master.Run("Stage;Purge", "Managed=true", "BackupRunDate=2026-11-24T03:00");
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Contains("Stage web: skipped, unchanged since staged", again.Output);
        Assert.Contains("Purge on managed peer db succeeded", again.Output);
        Assert.Equal(2, _ssh.Logins - before);
    }

    [Fact]
    public void A_managed_run_before_Stage_opens_the_connection_Stage_then_uses()
    {
        using var t = new TempDir();
        t.File("client-data/d.txt", "client data");
        var client = new BackupProject(t.Dir("client")).Item("CollectDirectory", t["client-data"]);
        client.Write();
        t.File("master-data/m.txt", "master data");
        var master = new BackupProject(t.Dir("master"))
            .Item("CollectDirectory", t["master-data"])
            .Item("Peer", "client", _ssh.PeerMetadata(client.CollectDir, ("Managed", "true"), ("ManagedActions", "collect"),
                ("ManagedProject", client.ProjectPath)));

        var before = _ssh.Logins;
        var run = master.Run("Collect;Stage", "Managed=true", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("Collect on managed peer client succeeded", run.Output);
        Assert.Contains("Peer client (root@" + _ssh.Address + "): over the connection already open in this run", run.Output);
        Assert.True(File.Exists(Path.Combine(client.CollectDir, "cback.stage")), run.All);
        // The managed Collect's connection, reused by Stage's listing, copy and mark.
        Assert.Equal(1, _ssh.Logins - before);
    }
}

/// <summary>What makes two connections one: everything that decides whom it reaches and as whom.</summary>
[Trait("Tier", "Fast")]
public class SshConnectionPoolKeyTests
{
    private static SshEndpoint E(string host = "web1", int port = 22, string? user = "backup", string? key = "/k/id",
        string? known = "/k/known_hosts", string ciphers = "") =>
        new(host, port, user, key, known, new[] { "ssh" }, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120)) { Ciphers = ciphers };

    [Fact]
    public void Every_field_that_decides_whom_a_connection_reaches_and_as_whom_is_in_its_key()
    {
        var key = SshConnectionPool.KeyOf("web1", E());
        Assert.Equal(key, SshConnectionPool.KeyOf("web1", E()));
        Assert.Equal(key, SshConnectionPool.KeyOf("web1", E(key: "/k/../k/id")));
        foreach (var other in new[]
                 {
                     SshConnectionPool.KeyOf("web2", E()), SshConnectionPool.KeyOf("web1", E(host: "web2")),
                     SshConnectionPool.KeyOf("web1", E(port: 2222)), SshConnectionPool.KeyOf("web1", E(user: "root")),
                     SshConnectionPool.KeyOf("web1", E(user: null)), SshConnectionPool.KeyOf("web1", E(key: "/k/other")),
                     SshConnectionPool.KeyOf("web1", E(key: null)), SshConnectionPool.KeyOf("web1", E(known: "/k/other_hosts")),
                     SshConnectionPool.KeyOf("web1", E(known: null)), SshConnectionPool.KeyOf("web1", E(ciphers: "aes256-ctr")),
                     // A name cannot smuggle another field in: the separator is NUL, which no item name or path holds.
                     SshConnectionPool.KeyOf("web1\0web1", E(host: "22")),
                 })
            Assert.NotEqual(key, other);
    }
}

/// <summary>
/// A pool of four peers on loopback addresses, one hung (its sshd stopped with SIGSTOP: the kernel accepts the
/// connection, nothing answers) and one refusing connections: the healthy peers are staged, each failing peer gets its
/// coded error, and the run takes no more than the healthy peers' time plus the connect timeout.
/// </summary>
public class PoolFailureTests : IDisposable
{
    private const int ConnectTimeout = 8;
    private readonly SshServer _web = SshServer.On("127.0.0.51");
    private readonly SshServer _db = SshServer.On("127.0.0.52");
    private readonly SshServer _hung = SshServer.On("127.0.0.53");
    private readonly StageFixture _f = new();

    public void Dispose()
    {
        _hung.Dispose();
        _web.Dispose();
        _db.Dispose();
        _f.Dispose();
    }

    private Microsoft.Build.Framework.ITaskItem Peer(string name, SshServer server, params (string, string)[] overrides)
    {
        var dir = _f.ReadyPeer(name, (name + ".tar.gz", new string('x', 200_000)));
        return PropsDefaults.Defined("Peer", name, server.PeerMetadata(dir, overrides));
    }

    private (bool Ok, TimeSpan Elapsed) Stage(Microsoft.Build.Framework.ITaskItem[] peers, string runDate)
    {
        var task = new StagePeers
        {
            BuildEngine = new FakeBuildEngine(),
            Peers = peers,
            StagingDir = _f.StagingDir,
            WorkingDir = _f.WorkingDir,
            RunSettings = PropsDefaults.Run(runDate),
            // Two at a time: the hung peer holds one of the two, the other three peers share the other.
            SshSettings = PropsDefaults.Ssh(("SshConnectTimeout", ConnectTimeout.ToString()), ("StageParallelism", "2")),
        };
        var clock = Stopwatch.StartNew();
        var ok = task.Execute();
        Engine = (FakeBuildEngine)task.BuildEngine;
        return (ok, clock.Elapsed);
    }

    private FakeBuildEngine Engine { get; set; } = new();

    [Fact]
    public void A_hung_peer_and_a_refused_one_are_their_own_errors_and_cost_the_others_at_most_the_connect_timeout()
    {
        // The healthy peers alone, for the time they take on this (loaded) machine.
        var web = Peer("web", _web);
        var db = Peer("db", _db);
        var (ok, healthy) = Stage(new[] { web, db }, "2026-11-24T02:00");
        Assert.True(ok, Engine.AllText);

        foreach (var name in new[] { "web", "db" })
            File.WriteAllText(Path.Combine(_f.CollectDir(name), name + ".tar.gz"), "changed: copied again");
        _hung.Pause();
        var refusedPort = SshServer.FreePort();
        var peers = new[]
        {
            // The failing peers first, so that they hold the workers while the healthy ones wait for a free one.
            Peer("hung", _hung), Peer("refused", _web, ("Host", "127.0.0.54"), ("Port", refusedPort.ToString())), web, db,
        };
        var (ok2, elapsed) = Stage(peers, "2026-11-24T03:00");
        var log = Engine.AllText;
        Assert.False(ok2, log);

        // The healthy peers are staged, with what changed.
        foreach (var name in new[] { "web", "db" })
        {
            Assert.Contains($"Stage {name}: staged", log);
            Assert.Equal("changed: copied again", File.ReadAllText(Path.Combine(_f.Day("2026-11-24T03:00"), name, name + ".tar.gz")));
            Assert.True(File.Exists(Path.Combine(_f.CollectDir(name), "cback.stage")));
        }
        // Each failing peer has its coded error, naming it.
        var errors = Engine.Errors.Select(e => (Code: e.Code, Message: e.Message ?? "")).ToList();
        Assert.Contains(errors, e => e.Code == "BKP3050" && e.Message.Contains("\"hung\"") && e.Message.Contains("SshConnectTimeout"));
        Assert.Contains(errors, e => e.Code == "BKP3050" && e.Message.Contains("\"refused\"") && e.Message.Contains("Connection refused"));
        Assert.Equal(2, errors.Count);
        Assert.Contains("Stage hung: failed, 0 files", log);
        Assert.False(File.Exists(Path.Combine(_f.CollectDir("hung"), "cback.stage")));

        // The hung peer costs its own connect timeout, and the run no more than that beyond the healthy peers' time
        // (generous slack for a loaded machine: the peers' second run copies again, as the first did).
        Assert.True(elapsed >= TimeSpan.FromSeconds(ConnectTimeout - 1), elapsed.ToString());
        Assert.True(elapsed <= healthy + TimeSpan.FromSeconds(ConnectTimeout + 20), $"{elapsed} against {healthy} for the healthy peers alone");
    }
}
