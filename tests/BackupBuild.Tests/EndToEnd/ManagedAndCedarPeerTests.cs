using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>Managed peers, and staging across BackupBuild and the real Cedar Backup 3 in both directions.</summary>
public class ManagedAndCedarPeerTests : IClassFixture<SshServer>
{
    private readonly SshServer _ssh;

    public ManagedAndCedarPeerTests(SshServer ssh) => _ssh = ssh;

    /// <summary>A client machine's own configuration (here in a folder of the same host, reached over ssh).</summary>
    private static BackupProject Client(TempDir t)
    {
        t.File("client-data/daily/d.txt", "daily data");
        t.File("client-data/weekly/w.txt", "weekly data");
        var client = new BackupProject(t.Dir("client"))
            .Item("CollectDirectory", t["client-data/daily"], ("CollectMode", "daily"))
            .Item("CollectDirectory", t["client-data/weekly"], ("CollectMode", "weekly"));
        client.Write();
        return client;
    }

    [Fact]
    public void Managed_runs_the_action_here_and_on_the_managed_peer_with_full_passed_on()
    {
        using var t = new TempDir();
        var client = Client(t);
        t.File("master-data/m.txt", "master data");
        var master = new BackupProject(t.Dir("master"))
            .Item("CollectDirectory", t["master-data"])
            .Item("Peer", "client", _ssh.PeerMetadata(client.CollectDir, ("Managed", "true"), ("ManagedProject", client.ProjectPath)));

        // 2026-11-25 is a Wednesday: the weekly item is collected only because Full is passed on.
        var run = master.Run("Collect", "Managed=true", "Full=true", "BackupRunDate=2026-11-25T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.True(File.Exists(Path.Combine(master.CollectDir, "cback.collect")));
        Assert.True(File.Exists(Path.Combine(client.CollectDir, "cback.collect")), run.All);
        var prefix = Tasks.Infrastructure.NormalizedPath.From(t["client-data"]);
        Assert.True(File.Exists(Path.Combine(client.CollectDir, prefix + "-weekly.tar.gz")), run.All);
        Assert.Contains("Collect on managed peer client succeeded", run.Output);

        Directory.Delete(master.CollectDir, true);
        var only = master.Run("Collect", "ManagedOnly=true", "BackupRunDate=2026-11-25T02:00");
        Assert.True(only.ExitCode == 0, only.All);
        Assert.False(Directory.Exists(master.CollectDir));
        Assert.Contains("Collect on managed peer client succeeded", only.Output);

        var both = master.Run("Collect", "Managed=true", "ManagedOnly=true");
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("error BKP1090", both.Output);
    }

    [Fact]
    public void A_failing_managed_peer_is_an_error_with_the_peers_own_output()
    {
        using var t = new TempDir();
        t.File("master-data/m.txt", "master data");
        var master = new BackupProject(t.Dir("master"))
            .Item("CollectDirectory", t["master-data"])
            .Item("Peer", "broken", _ssh.PeerMetadata(t["nowhere/collect"], ("Managed", "true"), ("ManagedProject", t["nowhere/backup.proj"])));
        var run = master.Run("Collect", "Managed=true");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP1091", run.Output);
        Assert.Contains("[broken]", run.Output);
        Assert.Contains("MSB1009", run.Output); // the peer's dotnet msbuild: project file does not exist
        Assert.True(File.Exists(Path.Combine(master.CollectDir, "cback.collect")));
    }

    [Fact]
    public void BackupBuild_stages_a_cedar_backup_client_byte_for_byte()
    {
        var cback3 = Tool.Require("cback3");
        using var t = new TempDir();
        t.File("cedar-data/a.txt", "cedar client data");
        var collect = t.Dir("cedar/collect");
        File.WriteAllText(t["cedar/cback3.conf"], $"""
            <?xml version="1.0"?>
            <cb_config>
              <options><starting_day>monday</starting_day><working_dir>{t.Dir("cedar/work")}</working_dir>
                <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
              <collect><collect_dir>{collect}</collect_dir><collect_mode>daily</collect_mode><archive_mode>targz</archive_mode>
                <ignore_file>.cbignore</ignore_file><dir><abs_path>{t["cedar-data"]}</abs_path></dir></collect>
            </cb_config>
            """);
        var cedar = Tool.Run(cback3, "-c", t["cedar/cback3.conf"], "-l", t["cedar/log"], "collect");
        Assert.True(cedar.ExitCode == 0, cedar.All);

        var master = new BackupProject(t.Dir("master")).Item("Peer", "cedarclient", _ssh.PeerMetadata(collect));
        var run = master.Run("Stage", "BackupRunDate=2026-11-24T02:00");
        Assert.True(run.ExitCode == 0, run.All);
        var staged = Path.Combine(master.StagingDir, "2026/11/24/cedarclient");
        Assert.Equal(Directory.GetFiles(collect).Select(Path.GetFileName).Where(n => n != "cback.stage").Order(),
            Directory.GetFiles(staged).Select(Path.GetFileName).Order());
        foreach (var f in Directory.GetFiles(staged))
            Assert.Equal(File.ReadAllBytes(Path.Combine(collect, Path.GetFileName(f))), File.ReadAllBytes(f));
        Assert.True(File.Exists(Path.Combine(collect, "cback.stage")));
    }

    [Fact]
    public void A_cedar_backup_master_stages_a_backupbuild_client_byte_for_byte()
    {
        var cback3 = Tool.Require("cback3");
        using var t = new TempDir();
        var client = Client(t);
        Assert.Equal(0, client.Run("Collect").ExitCode);

        var collected = Directory.GetFiles(client.CollectDir).Select(Path.GetFileName).Order().ToList();
        var staging = t.Dir("cedar/staging");
        var rcp = "/usr/bin/scp -O -B -P " + _ssh.Port + " " + string.Join(' ', _ssh.ClientOptions);
        File.WriteAllText(t["cedar/cback3.conf"], $"""
            <?xml version="1.0"?>
            <cb_config>
              <options><starting_day>monday</starting_day><working_dir>{t.Dir("cedar/work")}</working_dir>
                <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>{rcp}</rcp_command></options>
              <stage><staging_dir>{staging}</staging_dir>
                <peer><name>127.0.0.1</name><type>remote</type><collect_dir>{client.CollectDir.TrimEnd('/')}</collect_dir>
                  <backup_user>root</backup_user></peer></stage>
            </cb_config>
            """);
        var cedar = Tool.Run(cback3, "-c", t["cedar/cback3.conf"], "-l", t["cedar/log"], "--output", "stage");
        Assert.True(cedar.ExitCode == 0, cedar.All + File.ReadAllText(t["cedar/log"]));
        var staged = Directory.GetDirectories(staging, "127.0.0.1", SearchOption.AllDirectories).Single();
        Assert.Equal(collected, Directory.GetFiles(staged).Select(Path.GetFileName).Order());
        foreach (var name in collected)
            Assert.Equal(File.ReadAllBytes(Path.Combine(client.CollectDir, name!)), File.ReadAllBytes(Path.Combine(staged, name!)));
        Assert.True(File.Exists(Path.Combine(client.CollectDir, "cback.stage")), File.ReadAllText(t["cedar/log"]));
    }
}
