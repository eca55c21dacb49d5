using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// One archive to write today: the source it comes from, the path it is named after (a
/// subdirectory when RecursionLevel splits a folder) and the paths left out of it. Its entries are
/// walked when needed (<see cref="Walk"/>), not kept.
/// </summary>
public sealed record CollectJob(CollectSource Source, string Path, IReadOnlyList<string> Excludes)
{
    /// <summary>
    /// Plans today's archives: which items collect today and, for each, what it contains.
    /// RecursionLevel N > 0 archives each immediate subdirectory separately (with N − 1), then the
    /// rest of the folder, as Cedar Backup does.
    /// </summary>
    public static List<CollectJob> Plan(CollectConfiguration config, Action<string, string, int> unreadable,
        CancellationToken cancel)
    {
        var jobs = new List<CollectJob>();
        foreach (var source in config.Sources.Where(config.CollectsToday))
        {
            if (source.IsFile) jobs.Add(new CollectJob(source, source.Path, source.ExcludePaths.ToList()));
            else PlanDirectory(source, source.Path, source.RecursionLevel, new List<string>(source.ExcludePaths), jobs, unreadable, cancel);
        }
        return jobs;
    }

    /// <summary>Hands each entry of this job to <paramref name="emit"/> in walk order.</summary>
    public void Walk(Action<WalkEntry> emit, Action<string, string, int> unreadable, CancellationToken cancel)
    {
        var walker = new CollectWalker(Source.IgnoreFile, Excludes, Source.ExcludePatterns, unreadable, cancel);
        if (Source.IsFile) walker.AddFile(Source.Path, emit);
        else walker.AddDirectory(Path, Source.LinkDepth, Source.Dereference, emit);
    }

    private static void PlanDirectory(CollectSource source, string path, int level, List<string> excludes,
        List<CollectJob> jobs, Action<string, string, int> unreadable, CancellationToken cancel)
    {
        if (level > 0)
        {
            var lister = new CollectWalker(source.IgnoreFile, excludes, source.ExcludePatterns, unreadable, cancel);
            foreach (var sub in lister.SubdirectoriesOf(path).ToList())
            {
                PlanDirectory(source, sub, level - 1, excludes, jobs, unreadable, cancel);
                excludes.Add(sub);
            }
        }
        jobs.Add(new CollectJob(source, path, excludes.ToList()));
    }
}
