using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Settings;

/// <summary>
/// The remote-peer group (item BackupSshSettings): how Stage and the managed runs reach remote peers, and how many peers
/// Stage copies at once. The per-peer settings (RemoteUser, Ssh{Identity,KnownHosts}File, RemoteShell, RemoteCopy,
/// Managed{Actions,Project}) reach each Peer item as its metadata's defaults (the ItemDefinitionGroup of
/// targets/BackupBuild.props; docs/remote-peers.md); here they are only checked.
/// </summary>
public sealed record SshSettings
{
    public const string ItemType = "BackupSshSettings";

    public static readonly string[] Names =
    {
        "RemoteUser", "SshIdentityFile", "SshKnownHostsFile", "SshConnectTimeout", "SshIdleTimeout", "SshCiphers",
        "RemoteShell", "RemoteCopy", "StageParallelism", "ManagedActions", "ManagedProject", "ManagedDotnet",
    };

    public required string? User { get; init; }
    public required string? IdentityFile { get; init; }
    public required string? KnownHostsFile { get; init; }
    public required string RemoteShell { get; init; }
    public required string RemoteCopy { get; init; }
    public required int ConnectTimeoutSeconds { get; init; }
    public required int IdleTimeoutSeconds { get; init; }
    /// <summary>ssh's Ciphers option; empty: ssh's defaults.</summary>
    public required string Ciphers { get; init; }
    public required int StageParallelism { get; init; }
    public required string ManagedActions { get; init; }
    public required string ManagedProject { get; init; }
    public required string ManagedDotnet { get; init; }

    public static SshSettings? Parse(ITaskItem? item, Problems problems)
    {
        var before = problems.All.Count(p => !p.IsWarning);
        var r = new SettingsReader(item, ItemType, problems);
        if (!r.Present) return null;
        var settings = new SshSettings
        {
            User = NullIfEmpty(r.Text("RemoteUser")),
            IdentityFile = NullIfEmpty(r.Text("SshIdentityFile")),
            KnownHostsFile = NullIfEmpty(r.Text("SshKnownHostsFile")),
            ConnectTimeoutSeconds = r.Integer("SshConnectTimeout", 1),
            // ssh's ServerAliveInterval is a third of it: 3 s is the least that gives whole seconds.
            IdleTimeoutSeconds = r.Integer("SshIdleTimeout", 3),
            Ciphers = r.Text("SshCiphers"),
            RemoteShell = r.Required("RemoteShell"),
            RemoteCopy = r.Required("RemoteCopy"),
            StageParallelism = r.Integer("StageParallelism", 1),
            ManagedActions = r.Required("ManagedActions"),
            ManagedProject = r.Required("ManagedProject"),
            ManagedDotnet = ProgramPath.Required(r, "ManagedDotnet", problems),
        };
        return problems.All.Count(p => !p.IsWarning) > before ? null : settings;
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
