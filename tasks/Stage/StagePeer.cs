namespace BackupBuild.Tasks.Stage;

public enum PeerType { Local, Remote }

/// <summary>When a peer that is not ready is only reported, not failed (Cedar's ignore_failures).</summary>
public enum IgnoreFailures { None, All, Daily, Weekly }

/// <summary>One Peer item, checked: a machine whose collect dir the master stages.</summary>
public sealed record StagePeer(string Name, PeerType Type, string CollectDir, IgnoreFailures IgnoreFailures)
{
    /// <summary>How to reach a remote peer (null for local peers).</summary>
    public Infrastructure.SshEndpoint? Ssh { get; init; }

    /// <summary>The copy program and its own arguments for a remote peer: rsync (default) or scp -O.</summary>
    public IReadOnlyList<string> CopyCommand { get; init; } = new[] { "rsync" };

    /// <summary>A managed peer: the master runs actions on it through the remote shell.</summary>
    public bool Managed { get; init; }

    /// <summary>The actions run on a managed peer (lower case: collect, stage, store, purge).</summary>
    public IReadOnlyList<string> ManagedActions { get; init; } = Array.Empty<string>();

    /// <summary>The peer's own copy of the configuration, run there with dotnet msbuild.</summary>
    public string ManagedProject { get; init; } = "";

    /// <summary>
    /// Cedar's rule: "weekly" forgives the runs that start a week (or are Full), "daily" every other run.
    /// </summary>
    /// <remarks>Applies to every failure of a peer (down, refused, not ready), not only to "not ready".</remarks>
    public bool ForgivesNotReady(bool fullOrStartOfWeek) => IgnoreFailures switch
    {
        IgnoreFailures.All => true,
        IgnoreFailures.Weekly => fullOrStartOfWeek,
        IgnoreFailures.Daily => !fullOrStartOfWeek,
        _ => false,
    };

    public string MetadataValue => IgnoreFailures.ToString().ToLowerInvariant();
}
