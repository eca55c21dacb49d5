using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// The log file of every run (BackupLogFile). Event=Start (first thing in a build) creates the file if needed with
/// BackupLogUser:BackupLogGroup and BackupLogMode, writes the start line and registers the session whose disposal at
/// the end of the build writes the end status; Event=ActionStarted / ActionSucceeded write an action's outcome.
/// </summary>
public sealed class WriteRunLog : BackupTask, IIncrementalTask
{
    private const string SessionKey = "BackupBuild.Deploy.RunLogSession";

    [Required] public string Event { get; set; } = "";
    public string? Action { get; set; }
    public string? LogFile { get; set; }
    public string? User { get; set; }
    public string? Group { get; set; }
    public string? Mode { get; set; }
    public string? ProjectFile { get; set; }
    public string? ThisPeer { get; set; }
    /// <summary>The actions whose outcome is logged (BeforeTargets/AfterTargets in deploy.targets).</summary>
    public string? TrackedActions { get; set; }
    /// <summary>The configured peers: a problem whose message names one is logged with that peer.</summary>
    public ITaskItem[] Peers { get; set; } = Array.Empty<ITaskItem>();
    /// <summary>BackupRunDate, when set: the start line names the backup day the run is for.</summary>
    public string? RunDate { get; set; }

    /// <summary>Set by MSBuild under -question (which asks what would run and changes nothing): nothing is logged.</summary>
    public bool FailIfNotIncremental { get; set; }

    protected override bool Run()
    {
        if (FailIfNotIncremental) return true;
        if (!string.Equals(Event, "Start", StringComparison.OrdinalIgnoreCase))
        {
            var session = RunLogSession.Current;
            if (session == null || string.IsNullOrEmpty(Action)) return true;
            if (string.Equals(Event, "ActionStarted", StringComparison.OrdinalIgnoreCase)) session.ActionStarted(Action);
            else session.ActionSucceeded(Action);
            return true;
        }

        var problems = new Problems();
        var file = Values.AbsolutePath(LogFile, "BackupLogFile", problems);
        var mode = string.IsNullOrWhiteSpace(Mode) ? Convert.ToUInt32("640", 8) : Ownership.ParseMode(Mode);
        if (mode == null) problems.Error("Deploy.BadLogMode", Mode ?? "");
        uint uid = Ownership.Unchanged, gid = Ownership.Unchanged;
        if (!string.IsNullOrWhiteSpace(User))
            uid = Ownership.UserId(User.Trim()) ?? Fail("Deploy.NoSuchUser", "BackupLogUser", User);
        if (!string.IsNullOrWhiteSpace(Group))
            gid = Ownership.GroupId(Group.Trim()) ?? Fail("Deploy.NoSuchGroup", "BackupLogGroup", Group);
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

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
            using (new FileStream(file!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Deploy.LogOpenFailed", file!, e.Message);
            return false;
        }

        RunLogSession.Current?.End(); // a build that never ended (should not happen): close it first
        var requested = RequestedTargets(Environment.GetCommandLineArgs());
        var session2 = new RunLogSession(file!, requested, Values.List(TrackedActions), Peers.Select(p => p.ItemSpec));
        // Without an engine that keeps objects (an out-of-process task host), the end is written when the process exits.
        try
        {
            BuildEngine4?.RegisterTaskObject(SessionKey + ":" + Guid.NewGuid(), session2, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        }
        catch (Exception e) when (e is NotImplementedException or NotSupportedException or InvalidCastException)
        {
        }
        var targets = requested.Count == 0 ? "(default targets)" : "-t:" + string.Join(';', requested);
        var day = System.Text.RegularExpressions.Regex.Match(RunDate ?? "", @"^\s*(\d{4}-\d{2}-\d{2})") is { Success: true } d
            ? ", run date " + d.Groups[1].Value : "";
        session2.Start($"{Path.GetFileName(ProjectFile ?? "")} {targets} on {ThisPeer} as {Environment.UserName}{day}");
        Detail("Deploy.LogStarted", file!);
        return true;

        uint Fail(string resource, string name, string value)
        {
            problems.Error(resource, name, value);
            return Ownership.Unchanged;
        }
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
