namespace BackupBuild.Tasks.Collect;

/// <summary>
/// The walk ComputeCollectStamp did, handed to CollectArchives in the same build: the jobs, the
/// unreadable paths, and the spool holding the entries (null when it could not be written).
/// </summary>
public sealed record CollectPlanCache(List<CollectJob> Jobs, List<(string Path, string Kind, int Errno)> Unreadable,
    FileStream? Spool)
{
    public static string Key(string stamp) => "BackupBuild.CollectPlan:" + stamp.Trim();
}
