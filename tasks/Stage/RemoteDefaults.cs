namespace BackupBuild.Tasks.Stage;

/// <summary>Pool-wide defaults for remote peers, from properties; each Peer item may override them.</summary>
public sealed record RemoteDefaults
{
    public string? User { get; init; }
    public string? IdentityFile { get; init; }
    public string? KnownHostsFile { get; init; }
    public string RemoteShell { get; init; } = "ssh";
    public string RemoteCopy { get; init; } = "rsync";
    public int ConnectTimeoutSeconds { get; init; } = 30;
    public string Ciphers { get; init; } = "";
    public int IdleTimeoutSeconds { get; init; } = 120;
    public string ManagedActions { get; init; } = "collect;purge";
    public string ManagedProject { get; init; } = "/etc/backupbuild/backup.proj";
}
