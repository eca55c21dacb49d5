namespace BackupBuild.Tasks.Infrastructure;

/// <summary>One configuration problem: a resource string and its arguments, logged with its code.</summary>
public sealed record Problem(string ResourceName, object[] Arguments, bool IsWarning = false)
{
    public override string ToString() => BackupTask.Format(ResourceName, Arguments);
}

/// <summary>
/// Collects every problem of a configuration so that all of them are reported at once,
/// before any data is touched.
/// </summary>
public sealed class Problems
{
    private readonly List<Problem> _all = new();

    public IReadOnlyList<Problem> All => _all;
    public bool HasErrors => _all.Any(p => !p.IsWarning);
    public int ErrorCount => _all.Count(p => !p.IsWarning);

    public void Error(string resourceName, params object[] args) => Add(new Problem(resourceName, args));
    public void Warning(string resourceName, params object[] args) => Add(new Problem(resourceName, args, IsWarning: true));

    // Several sections read the same property (RunDate, StartingDay): report each problem once.
    private void Add(Problem p)
    {
        if (!_all.Any(q => q.ResourceName == p.ResourceName && q.Arguments.SequenceEqual(p.Arguments))) _all.Add(p);
    }

    /// <summary>Adds what another reader found (each problem once): a parser run on its own counts only its own errors.</summary>
    public void Include(Problems other)
    {
        foreach (var p in other._all) Add(p);
    }

    public void LogTo(Microsoft.Build.Utilities.TaskLoggingHelper log)
    {
        foreach (var p in _all)
        {
            if (p.IsWarning) log.LogWarningWithCodeFromResources(p.ResourceName, p.Arguments);
            else log.LogErrorWithCodeFromResources(p.ResourceName, p.Arguments);
        }
    }
}
