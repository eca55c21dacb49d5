using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Extensions.Staged;

/// <summary>
/// What encrypt and split share: under Stage's lock (so no Stage writes into a day meanwhile), every daily staging
/// folder with cback.stage is handed to <see cref="ProcessDay"/>; one failed day does not stop the others.
/// </summary>
public abstract class StagedDayTask : BackupTask
{
    /// <summary>The staging root (StagingDir).</summary>
    public string? StagingDir { get; set; }
    /// <summary>Where the locks live (WorkingDir).</summary>
    public string? WorkingDir { get; set; }
    /// <summary>@(BackupRunSettings): how long to wait for Stage's lock (BackupLockWaitSeconds).</summary>
    public Microsoft.Build.Framework.ITaskItem? RunSettings { get; set; }

    /// <summary>Validates the task's own properties into <paramref name="problems"/>.</summary>
    protected abstract void Configure(Problems problems);

    /// <summary>Runs once the configuration is valid, before any day is touched; false after logging an error.</summary>
    protected virtual bool Ready() => true;

    protected abstract void ProcessDay(string dayDir);

    protected sealed override bool Run()
    {
        var problems = new Problems();
        var staging = Values.AbsolutePath(StagingDir, "StagingDir", problems);
        var working = Values.AbsolutePath(WorkingDir, "WorkingDir", problems);
        var run = Settings.RunSettings.Parse(RunSettings, problems);
        Configure(problems);
        problems.LogTo(Log);
        if (problems.HasErrors || !Ready()) return false;

        using var stageLock = ActionLock.Acquire(working!, "stage", run!.LockWait, Cancellation);
        foreach (var day in StagedDayFolders.Find(staging!))
        {
            Cancellation.ThrowIfCancellationRequested();
            try
            {
                ProcessDay(day);
            }
            catch (CodedError e)
            {
                LogCodedError(e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogErrorWithCodeFromResources("Extensions.DayFailed", GetType().Name, day, e.Message);
            }
        }
        return true;
    }
}
