using System.Collections;
using Microsoft.Build.Framework;

namespace BackupBuild.Tests.Support;

/// <summary>Records what a task logs, for tests that drive one task directly.</summary>
public sealed class FakeBuildEngine : IBuildEngine
{
    private readonly object _gate = new();
    public List<BuildErrorEventArgs> Errors { get; } = new();
    public List<BuildWarningEventArgs> Warnings { get; } = new();
    public List<BuildMessageEventArgs> Messages { get; } = new();

    public IEnumerable<string?> ErrorCodes { get { lock (_gate) return Errors.Select(e => e.Code).ToList(); } }
    public IEnumerable<string?> WarningCodes { get { lock (_gate) return Warnings.Select(e => e.Code).ToList(); } }
    public string AllText
    {
        get
        {
            lock (_gate)
                return string.Join("\n", Errors.Select(e => $"error {e.Code}: {e.Message}")
                    .Concat(Warnings.Select(w => $"warning {w.Code}: {w.Message}"))
                    .Concat(Messages.Select(m => m.Message)));
        }
    }

    public void LogErrorEvent(BuildErrorEventArgs e) { lock (_gate) Errors.Add(e); }
    public void LogWarningEvent(BuildWarningEventArgs e) { lock (_gate) Warnings.Add(e); }
    public void LogMessageEvent(BuildMessageEventArgs e) { lock (_gate) Messages.Add(e); }
    public void LogCustomEvent(CustomBuildEventArgs e) { }
    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) => false;
    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "test.proj";
}
