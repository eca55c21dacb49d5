namespace BackupBuild.Tasks.Collect;

/// <summary>The jobs and unreadable paths of one walk, shared from ComputeCollectStamp to CollectArchives.</summary>
public sealed record CollectPlanCache(List<CollectJob> Jobs, List<(string Path, string Kind, int Errno)> Unreadable,
    IReadOnlyDictionary<string, Task<LoadedState>> States)
{
    /// <summary>Reads incremental state files on another thread while the stamp walks the tree.</summary>
    public static Dictionary<string, Task<LoadedState>> Preload(CollectConfiguration config)
    {
        var states = new Dictionary<string, Task<LoadedState>>(StringComparer.Ordinal);
        foreach (var s in config.Sources.Where(s => s.Mode == CollectMode.Incr && config.CollectsToday(s)))
        {
            var path = config.StatePath(s.Path);
            foreach (var file in new[] { path, IncrementalPlan.BaselinePath(path) })
                states[file] = Task.Factory.StartNew(() => LoadedState.Read(file), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        return states;
    }

    /// <summary>A preloaded state, or a fresh read when the stamp did not preload it.</summary>
    public LoadedState Read(string path) => States.TryGetValue(path, out var t) ? t.Result : LoadedState.Read(path);

    public static string Key(string stamp) => "BackupBuild.CollectPlan:" + stamp.Trim();
}
