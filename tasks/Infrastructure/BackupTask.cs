using System.Resources;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// Base of every BackupBuild task: user-visible messages live in Strings.resx and start with
/// their BKPnnnn code, which MSBuild's logging helper splits off into the event's code.
/// </summary>
public abstract class BackupTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    internal static readonly ResourceManager Resources =
        new("BackupBuild.Tasks.Strings", typeof(BackupTask).Assembly);

    private readonly CancellationTokenSource _cancel = new();

    protected BackupTask() : base(Resources, "BackupBuild.")
    {
        Log = new SentenceLoggingHelper(this) { TaskResources = Resources, HelpKeywordPrefix = "BackupBuild." };
    }

    /// <summary>The task's logging helper; it formats causes inside messages as <see cref="Sentences"/> says.</summary>
    public new TaskLoggingHelper Log { get; }

    /// <summary>Tripped by Ctrl+C or an MSBuild timeout; long loops check it.</summary>
    protected CancellationToken Cancellation => _cancel.Token;

    public void Cancel() => _cancel.Cancel();

    private SshConnectionPool? _ownPool;
    private SshConnectionPool? _sshConnections;

    /// <summary>
    /// The build's SSH.NET connections to remote peers, one per peer, shared by every task of the run
    /// (<see cref="SshConnectionPool"/>); a pool of the task's own, closed when it ends, when the engine keeps no task objects.
    /// </summary>
    protected SshConnectionPool SshConnections
    {
        get
        {
            if (_sshConnections != null) return _sshConnections;
            lock (_cancel)
                return _sshConnections ??= SshConnectionPool.ForBuild(BuildEngine) ?? (_ownPool = new SshConnectionPool());
        }
    }

    public sealed override bool Execute()
    {
        // Everything a task writes, and every program it starts, is owner-only whatever the run's umask (PrivateFiles).
        using var ownerOnly = PrivateFiles.RestrictUmask();
        // Every program the task runs (ProgramRunner) logs to its log and is stopped by its Cancel (Ctrl+C).
        using var programs = ProgramRunner.ForTask(Log, _cancel.Token);
        // Every error and warning reaches the run log through BackupBuild's run logger (logger/RunLogger.cs).
        try
        {
            try
            {
                return Run() && !Log.HasLoggedErrors;
            }
            finally
            {
                _ownPool?.Dispose();
            }
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            Log.LogErrorWithCodeFromResources("Common.Cancelled", GetType().Name);
            return false;
        }
        catch (CodedError e)
        {
            LogCodedError(e);
            return false;
        }
        catch (OutOfMemoryException)
        {
            // Files are published only when complete (AtomicFile), so what was being written is simply not there.
            GC.Collect();
            Log.LogErrorWithCodeFromResources("Common.OutOfMemory", GetType().Name,
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024));
            return false;
        }
    }

    /// <summary>The task's work; return false only after logging an error.</summary>
    protected abstract bool Run();

    protected void LogCodedError(CodedError e) =>
        Log.LogErrorWithCodeFromResources(e.ResourceName, e.Arguments);

    protected void Progress(string resourceName, params object[] args) =>
        Log.LogMessageFromResources(MessageImportance.High, resourceName, args);

    protected void Detail(string resourceName, params object[] args) =>
        Log.LogMessageFromResources(MessageImportance.Normal, resourceName, args);

    protected void Trace(string resourceName, params object[] args) =>
        Log.LogMessageFromResources(MessageImportance.Low, resourceName, args);

    internal static string Format(string resourceName, params object[] args) =>
        Sentences.Format(Resources.GetString(resourceName) ?? resourceName, args);
}

/// <summary>A user-facing failure carried to the task boundary, logged there with its BKP code.</summary>
public sealed class CodedError : Exception
{
    public CodedError(string resourceName, params object[] arguments)
        : base(BackupTask.Format(resourceName, arguments))
    {
        ResourceName = resourceName;
        Arguments = arguments;
    }

    public string ResourceName { get; }
    public object[] Arguments { get; }
}
