namespace BackupBuild.Tasks.Collect;

/// <summary>The jobs and unreadable paths of one walk, shared from ComputeCollectStamp to CollectArchives.</summary>
public sealed record CollectPlanCache(List<CollectJob> Jobs, List<(string Path, string Kind, int Errno)> Unreadable)
{
    public static string Key(string stamp) => "BackupBuild.CollectPlan:" + stamp.Trim();
}
