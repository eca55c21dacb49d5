using System.Collections;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Infrastructure;

/// <summary>
/// The build engine a BackupBuild task logs through while it runs: everything goes to MSBuild's own engine unchanged,
/// and every error and warning is also handed to a recorder (the run log, <see cref="Deploy.RunLogSession"/>), so
/// the run log knows what failed with its code and message whatever the console verbosity. A task's
/// <c>Log</c> reads the task's BuildEngine on each call, so <see cref="BackupTask"/> swaps this in around Run().
/// </summary>
internal sealed class RecordingBuildEngine : IBuildEngine10
{
    private readonly IBuildEngine10 _inner;
    private readonly Action<bool, string?, string> _record;

    public RecordingBuildEngine(IBuildEngine10 inner, Action<bool, string?, string> record)
    {
        _inner = inner;
        _record = record;
    }

    public void LogErrorEvent(BuildErrorEventArgs e)
    {
        _inner.LogErrorEvent(e);
        Record(true, e.Code, e.Message);
    }

    public void LogWarningEvent(BuildWarningEventArgs e)
    {
        _inner.LogWarningEvent(e);
        // -warnAsError turns it into an error: record what MSBuild will report.
        Record(_inner.ShouldTreatWarningAsError(e.Code), e.Code, e.Message);
    }

    private void Record(bool isError, string? code, string? message)
    {
        try
        {
            _record(isError, code, message ?? "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The run log is a copy of what the build output already has: never fail a task over it.
        }
    }

    public void LogMessageEvent(BuildMessageEventArgs e) => _inner.LogMessageEvent(e);
    public void LogCustomEvent(CustomBuildEventArgs e) => _inner.LogCustomEvent(e);
    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        _inner.BuildProjectFile(projectFileName, targetNames, globalProperties, targetOutputs);
    public bool ContinueOnError => _inner.ContinueOnError;
    public int LineNumberOfTaskNode => _inner.LineNumberOfTaskNode;
    public int ColumnNumberOfTaskNode => _inner.ColumnNumberOfTaskNode;
    public string ProjectFileOfTaskNode => _inner.ProjectFileOfTaskNode;

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs, string toolsVersion) =>
        _inner.BuildProjectFile(projectFileName, targetNames, globalProperties, targetOutputs, toolsVersion);
    public bool BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties,
        IDictionary[] targetOutputsPerProject, string[] toolsVersion, bool useResultsCache, bool unloadProjectsOnCompletion) =>
        _inner.BuildProjectFilesInParallel(projectFileNames, targetNames, globalProperties, targetOutputsPerProject, toolsVersion,
            useResultsCache, unloadProjectsOnCompletion);
    public bool IsRunningMultipleNodes => _inner.IsRunningMultipleNodes;

    public BuildEngineResult BuildProjectFilesInParallel(string[] projectFileNames, string[] targetNames, IDictionary[] globalProperties,
        IList<string>[] removeGlobalProperties, string[] toolsVersion, bool returnTargetOutputs) =>
        _inner.BuildProjectFilesInParallel(projectFileNames, targetNames, globalProperties, removeGlobalProperties, toolsVersion, returnTargetOutputs);
    public void Yield() => _inner.Yield();
    public void Reacquire() => _inner.Reacquire();

    public void RegisterTaskObject(object key, object obj, RegisteredTaskObjectLifetime lifetime, bool allowEarlyCollection) =>
        _inner.RegisterTaskObject(key, obj, lifetime, allowEarlyCollection);
    public object GetRegisteredTaskObject(object key, RegisteredTaskObjectLifetime lifetime) => _inner.GetRegisteredTaskObject(key, lifetime);
    public object UnregisterTaskObject(object key, RegisteredTaskObjectLifetime lifetime) => _inner.UnregisterTaskObject(key, lifetime);

    public void LogTelemetry(string eventName, IDictionary<string, string> properties) => _inner.LogTelemetry(eventName, properties);
    public IReadOnlyDictionary<string, string> GetGlobalProperties() => _inner.GetGlobalProperties();
    public bool AllowFailureWithoutError { get => _inner.AllowFailureWithoutError; set => _inner.AllowFailureWithoutError = value; }
    public bool ShouldTreatWarningAsError(string warningCode) => _inner.ShouldTreatWarningAsError(warningCode);
    public int RequestCores(int requestedCores) => _inner.RequestCores(requestedCores);
    public void ReleaseCores(int coresToRelease) => _inner.ReleaseCores(coresToRelease);
    public EngineServices EngineServices => _inner.EngineServices;
}
