using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Stage;

/// <summary>The pool-wide remote-peer settings that Stage and managed runs share (docs/remote-peers.md).</summary>
public abstract class RemotePeerTask : BackupTask
{
    /// <summary>Default user on remote peers (RemoteUser); empty: ssh's own default.</summary>
    public string? RemoteUser { get; set; }
    /// <summary>Private key for remote peers (SshIdentityFile); empty: ssh's defaults.</summary>
    public string? SshIdentityFile { get; set; }
    /// <summary>known_hosts file for remote peers (SshKnownHostsFile); empty: ssh's defaults.</summary>
    public string? SshKnownHostsFile { get; set; }
    /// <summary>Seconds to wait for a connection (SshConnectTimeout).</summary>
    public string? SshConnectTimeout { get; set; }
    /// <summary>Seconds without a sign of life before a connection counts as dropped (SshIdleTimeout).</summary>
    public string? SshIdleTimeout { get; set; }
    /// <summary>ssh's Ciphers option (SshCiphers); empty: ssh's defaults.</summary>
    public string? SshCiphers { get; set; }
    /// <summary>Default remote shell command (RemoteShell): ssh.</summary>
    public string? RemoteShell { get; set; }
    /// <summary>Default copy command (RemoteCopy): rsync, or scp -O.</summary>
    public string? RemoteCopy { get; set; }
    /// <summary>Default ManagedActions of managed peers (collect;purge).</summary>
    public string? ManagedActions { get; set; }
    /// <summary>Default path of backup.proj on managed peers (ManagedProject).</summary>
    public string? ManagedProject { get; set; }

    /// <summary>The defaults for Peer items, from these properties; bad numbers go to <paramref name="problems"/>.</summary>
    protected RemoteDefaults ReadRemoteDefaults(Problems problems) => new()
    {
        User = RemoteUser, IdentityFile = SshIdentityFile, KnownHostsFile = SshKnownHostsFile,
        RemoteShell = string.IsNullOrWhiteSpace(RemoteShell) ? "ssh" : RemoteShell,
        RemoteCopy = string.IsNullOrWhiteSpace(RemoteCopy) ? "rsync" : RemoteCopy,
        ConnectTimeoutSeconds = Values.Integer(SshConnectTimeout, "SshConnectTimeout", problems, 30, min: 1),
        IdleTimeoutSeconds = Values.Integer(SshIdleTimeout, "SshIdleTimeout", problems, 120, min: 3),
        Ciphers = SshCiphers ?? "",
        ManagedActions = string.IsNullOrWhiteSpace(ManagedActions) ? "collect;purge" : ManagedActions,
        ManagedProject = string.IsNullOrWhiteSpace(ManagedProject) ? "/etc/backupbuild/backup.proj" : ManagedProject,
    };
}
