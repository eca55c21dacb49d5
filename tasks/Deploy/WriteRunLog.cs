using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Sets up the log file of every run (BackupLogFile), first thing in a build: creates it if needed with
/// BackupLogUser:BackupLogGroup and BackupLogMode, and checks that it can be written (BKP9021). The lines themselves
/// are written by the run logger (logger/RunLogger.cs), which holds them until this task has run. When no run logger
/// is attached to this run (<see cref="NotAttached"/>, from <see cref="RegisterRunLogger"/>), this task writes the
/// run's start and why it has nothing more, through the same line format.
/// </summary>
public sealed class WriteRunLog : BackupTask, IIncrementalTask
{
    public string? LogFile { get; set; }
    /// <summary>@(BackupLogSettings): the owner and mode of a newly created log file (Settings/LogSettings).</summary>
    public ITaskItem? LogSettings { get; set; }
    public string? ProjectFile { get; set; }
    public string? ThisPeer { get; set; }
    /// <summary>BackupRunDate, when set: the start line names the backup day the run is for.</summary>
    public string? RunDate { get; set; }
    /// <summary>Why this run has no run logger (RegisterRunLogger's NotAttached), or empty.</summary>
    public string? NotAttached { get; set; }

    /// <summary>Set by MSBuild under -question (which asks what would run and changes nothing): nothing is logged.</summary>
    public bool FailIfNotIncremental { get; set; }

    protected override bool Run()
    {
        if (FailIfNotIncremental) return true;
        var problems = new Problems();
        var file = Values.AbsolutePath(LogFile, "BackupLogFile", problems);
        var settings = Settings.LogSettings.Parse(LogSettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors || settings == null) return false;
        var (mode, uid, gid) = ((uint?)settings.Mode, settings.User, settings.Group);

        try
        {
            PrivateFiles.CreateRoot(Path.GetDirectoryName(file)!);
            if (!File.Exists(file))
            {
                var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = (UnixFileMode)mode!.Value;
                using (new FileStream(file!, options)) { }
                // The umask may have taken bits away: set the mode exactly, then the owner (Cedar: chown errors ignored).
                Ownership.SetMode(file!, mode!.Value);
                if (Ownership.Change(file!, uid, gid) is { } error) Log.LogWarningWithCodeFromResources("Deploy.LogChownFailed", file!, error);
            }
            using var stream = new FileStream(file!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            if (!string.IsNullOrWhiteSpace(NotAttached)) stream.Write(System.Text.Encoding.UTF8.GetBytes(Unlogged(NotAttached.Trim())));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Deploy.LogOpenFailed", file!, e.Message);
            return false;
        }
        Detail("Deploy.LogStarted", file!);
        return true;
    }

    /// <summary>The start line of a run without a run logger, and the line saying why.</summary>
    private string Unlogged(string why)
    {
        var requested = RequestedTargets(Environment.GetCommandLineArgs());
        var targets = requested.Count == 0 ? "(default targets)" : "-t:" + string.Join(';', requested);
        var day = System.Text.RegularExpressions.Regex.Match(RunDate ?? "", @"^\s*(\d{4}-\d{2}-\d{2})") is { Success: true } d
            ? ", run date " + d.Groups[1].Value : "";
        var now = DateTimeOffset.Now;
        var pid = Environment.ProcessId;
        var code = why.Length > 9 && why.StartsWith("BKP", StringComparison.Ordinal) && why[7] == ':' ? why[..7] : null;
        return RunLogLine.Format(now, pid, "INFO", $"run started: {Path.GetFileName(ProjectFile ?? "")} {targets} on {RunLogLine.Machine(Environment.MachineName, ThisPeer)} as {Environment.UserName}{day}")
            + RunLogLine.Format(now, pid, code != null ? "WARN" : "INFO",
                RunLogLine.ProblemTextOf(RunLogLine.NoAction, code, null, code != null ? why[9..] : why));
    }

    /// <summary>The targets named on MSBuild's command line (-t:, -target:, /t:), in order.</summary>
    public static List<string> RequestedTargets(IEnumerable<string> args)
    {
        var targets = new List<string>();
        foreach (var arg in args)
        {
            var a = arg.TrimStart('-', '/');
            var colon = a.IndexOf(':');
            if (colon < 0) continue;
            var name = a[..colon].ToLowerInvariant();
            if (name is not ("t" or "target")) continue;
            foreach (var t in a[(colon + 1)..].Trim('"').Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (!targets.Contains(t, StringComparer.OrdinalIgnoreCase)) targets.Add(t);
        }
        return targets;
    }
}
