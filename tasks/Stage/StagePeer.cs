namespace BackupBuild.Tasks.Stage;

public enum PeerType { Local, Remote }

/// <summary>When a peer that is not ready is only reported, not failed (Cedar's ignore_failures).</summary>
public enum IgnoreFailures { None, All, Daily, Weekly }

/// <summary>One Peer item, checked: a machine whose collect dir the master stages.</summary>
public sealed record StagePeer(string Name, PeerType Type, string CollectDir, IgnoreFailures IgnoreFailures)
{
    /// <summary>
    /// Cedar's rule: "weekly" forgives the runs that start a week (or are Full), "daily" every other run.
    /// </summary>
    public bool ForgivesNotReady(bool fullOrStartOfWeek) => IgnoreFailures switch
    {
        IgnoreFailures.All => true,
        IgnoreFailures.Weekly => fullOrStartOfWeek,
        IgnoreFailures.Daily => !fullOrStartOfWeek,
        _ => false,
    };

    public string MetadataValue => IgnoreFailures.ToString().ToLowerInvariant();
}
