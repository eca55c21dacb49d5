namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The walk ComputeCollectStamp did, handed to CollectArchives in the same build: the jobs, the
/// unreadable paths, and the spool holding the entries (null when it could not be written).
/// </summary>
public sealed record CollectPlanCache(List<CollectJob> Jobs, List<(string Path, string Kind, int Errno)> Unreadable,
    FileStream? Spool)
{
    public static string Key(string stamp) => "BackupBuild.CollectPlan:" + stamp.Trim();

    /// <summary>
    /// What ComputeCollectStamp writes to the stamp instead of walking when Collect runs whatever the walk finds (the
    /// last collect did not finish, or its archives are gone): CollectArchives then hashes its own walk into the stamp
    /// (<see cref="CollectStampWalk"/>). Never a stamp's 64 hex digits, so never up to date.
    /// </summary>
    public const string WalkedByCollect = "walked by Collect\n";
}
