using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Collect;

/// <summary>
/// One archive to write today: the source it comes from, the path it is named after (a
/// subdirectory when RecursionLevel splits a folder) and the entries that go in.
/// </summary>
public sealed record CollectJob(CollectSource Source, string Path, IReadOnlyList<WalkEntry> Entries)
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
            if (source.IsFile)
            {
                var walker = NewWalker(source, source.ExcludePaths, unreadable, cancel);
                walker.AddFile(source.Path);
                jobs.Add(new CollectJob(source, source.Path, walker.Entries));
            }
            else
            {
                PlanDirectory(source, source.Path, source.RecursionLevel, new List<string>(source.ExcludePaths), jobs, unreadable, cancel);
            }
        }
        return jobs;
    }

    private static void PlanDirectory(CollectSource source, string path, int level, List<string> excludes,
        List<CollectJob> jobs, Action<string, string, int> unreadable, CancellationToken cancel)
    {
        if (level > 0)
        {
            var lister = NewWalker(source, excludes, unreadable, cancel);
            foreach (var sub in lister.SubdirectoriesOf(path).ToList())
            {
                PlanDirectory(source, sub, level - 1, excludes, jobs, unreadable, cancel);
                excludes.Add(sub);
            }
        }
        var walker = NewWalker(source, excludes, unreadable, cancel);
        walker.AddDirectory(path, source.LinkDepth, source.Dereference);
        jobs.Add(new CollectJob(source, path, walker.Entries));
    }

    private static CollectWalker NewWalker(CollectSource s, IEnumerable<string> excludes,
        Action<string, string, int> unreadable, CancellationToken cancel) =>
        new(s.IgnoreFile, excludes, s.ExcludePatterns, unreadable, cancel);
}
