using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Requests;

/// <summary>tools/backupbuild-request-gate through a real sshd: each key can do its own job and nothing else.</summary>
public class RequestGateTests
{
    private static Tool.Result Ssh(SshServer ssh, string key, string command) =>
        Tool.Run("ssh", "-p", ssh.Port.ToString(), "-i", key, "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + ssh.KnownHosts,
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "root@127.0.0.1", command);

    [Fact]
    public void The_servers_key_reads_only_the_clients_folders_and_a_clients_key_reaches_only_its_own_repository()
    {
        using var dir = new TempDir();
        using var ssh = new SshServer();
        var gate = Path.Combine(Repo.Root, "tools", "backupbuild-request-gate");
        var server = ssh.NewKey("backup1");
        var client = ssh.NewKey("web1");
        dir.File("src/www/index.html", "hi");
        ssh.Authorize((server, $"{gate} data {dir["src"]}"), (client, $"{gate} control {dir["control/web1.git"]}"));

        var outside = Ssh(ssh, server, "rsync --server --sender -logDtpre.iLsfxCIvu . /etc/");
        Assert.Equal(126, outside.ExitCode);
        Assert.Contains("refused", outside.Error);
        var climbing = Ssh(ssh, server, $"rsync --server --sender -logDtpre.iLsfxCIvu . {dir["src"]}/../");
        Assert.Equal(126, climbing.ExitCode);
        Assert.Equal(126, Ssh(ssh, server, "git-upload-pack '/etc'").ExitCode);
        Assert.Equal(126, Ssh(ssh, server, "cat /etc/shadow").ExitCode);
        Assert.Equal(126, Ssh(ssh, server, $"rsync --server -logDtpre.iLsfxCIvu . {dir["src"]}/").ExitCode); // writing
        Assert.Equal(126, Ssh(ssh, client, $"git-receive-pack '{dir["control/web2.git"]}'").ExitCode);
        Assert.Equal(126, Ssh(ssh, client, "sh").ExitCode);
        // What it may do: the first push creates the client's own repository.
        var own = Tool.RunWith(null, new Dictionary<string, string?>
        {
            ["GIT_SSH_COMMAND"] = $"ssh -i {client} -o IdentitiesOnly=yes -o UserKnownHostsFile={ssh.KnownHosts} -o BatchMode=yes",
        }, TimeSpan.FromMinutes(1), "git", "ls-remote", $"ssh://root@127.0.0.1:{ssh.Port}{dir["control/web1.git"]}");
        Assert.True(own.ExitCode == 0, own.All);
        Assert.True(File.Exists(dir["control/web1.git/HEAD"]));
    }
}
