using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>The authorized_keys restriction of docs/remote-peers.md: what the master needs passes, nothing else.</summary>
public class SshGateTests
{
    [Fact]
    public void The_gate_lets_stage_and_managed_runs_through_and_refuses_anything_else()
    {
        using var ssh = new SshServer();
        using var t = new TempDir();
        t.File("client-data/d.txt", "client data");
        var client = new BackupProject(t.Dir("client")).Item("CollectDirectory", t["client-data"]);
        client.Write();
        ssh.UseGate(client.CollectDir, client.ProjectPath);

        var master = new BackupProject(t.Dir("master"))
            .Item("Peer", "client", ssh.PeerMetadata(client.CollectDir, ("Managed", "true"), ("ManagedProject", client.ProjectPath)))
            .Item("Peer", "client2", ssh.PeerMetadata(client.CollectDir, ("RemoteCopy", "scp -O")));
        var collect = master.Run("Collect", "ManagedOnly=true", "BackupRunDate=2026-11-24T01:00");
        Assert.True(collect.ExitCode == 0, collect.All);
        // One peer at a time: both peers share one collect dir, and the cback.stage one writes must not appear
        // between the other's listing and its copy (which Stage rightly refuses, BKP3104).
        var before = ssh.Logins;
        var stage = master.Run("Stage", "BackupRunDate=2026-11-24T02:00", "StageParallelism=1");
        Assert.True(stage.ExitCode == 0, stage.All);
        // client: listing, copy over the connection (the gate's scp -p -f DIR/*) and mark, one login; client2: scp -O's own too.
        Assert.Equal(3, ssh.Logins - before);
        Assert.Contains("Stage client: staged", stage.Output);
        Assert.Contains("Stage client2: staged", stage.Output);

        var sneaky = Tool.Run("ssh", new[] { "-p", ssh.Port.ToString() }.Concat(ssh.ClientOptions)
            .Concat(new[] { "root@127.0.0.1", "cat /etc/hostname" }).ToArray());
        Assert.Equal(126, sneaky.ExitCode);
        Assert.Contains("refused", sneaky.Error);
    }
}
