using System.Diagnostics;
using System.Text;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// One run's lines in the log file (Cedar's /var/log/cback3.log): its start, every error and warning a BackupBuild
/// task logs (code, peer, message: <see cref="RunLogLine"/>), each action's outcome, its end status. Every line is
/// appended on its own (O_APPEND), so concurrent runs interleave whole lines. The end is written when MSBuild
/// disposes the session at the end of the build, or when the process exits, whichever comes first; an action that
/// started but never reported success failed, and so did a requested one that never started.
/// </summary>
public sealed class RunLogSession : IDisposable
{
    /// <summary>
    /// Tasks that run in another process (BackupUseTaskHost=true) inherit the build's environment: this variable
    /// tells them where to append their problems, for which run and action (pid, action, file, peers; tab-separated).
    /// </summary>
    public const string EnvironmentVariable = "BACKUPBUILD_RUN_LOG";

    private readonly object gate = new();
    private readonly string path;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Dictionary<string, Stopwatch> running = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> started = new();
    private readonly HashSet<string> succeeded = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> reasons = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> failed = new();
    private readonly IReadOnlyList<string> requested;
    private readonly ISet<string> tracked;
    private readonly IReadOnlyList<string> peers;
    private readonly long startOffset;
    private bool ended;

    /// <summary>The session of the build in progress in this process (null between builds).</summary>
    public static RunLogSession? Current { get; private set; }

    public RunLogSession(string path, IReadOnlyList<string> requestedTargets, IEnumerable<string> trackedActions,
        IEnumerable<string>? peers = null)
    {
        this.path = path;
        requested = requestedTargets;
        tracked = new HashSet<string>(trackedActions, StringComparer.OrdinalIgnoreCase);
        this.peers = (peers ?? Array.Empty<string>()).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        try { startOffset = new FileInfo(path).Length; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        Current = this;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        Publish(RunLogLine.NoAction);
    }

    public string Path => path;

    public void Start(string description) => Write("INFO", "run started: " + description);

    public void ActionStarted(string action)
    {
        lock (gate)
        {
            running[action] = Stopwatch.StartNew();
            started.Remove(action);
            started.Add(action);
        }
        Publish(action);
        Write("INFO", action + ": started");
    }

    public void ActionSucceeded(string action)
    {
        TimeSpan took;
        lock (gate)
        {
            took = running.Remove(action, out var sw) ? sw.Elapsed : TimeSpan.Zero;
            started.Remove(action);
            succeeded.Add(action);
        }
        Publish(CurrentAction);
        Write("INFO", $"{action}: succeeded ({Infrastructure.Units.Seconds(took)})");
    }

    /// <summary>Why an action is failing (a hook), written with its "failed" line.</summary>
    public void NoteFailure(string action, string reason)
    {
        lock (gate) reasons[action] = reason;
    }

    /// <summary>The innermost action under way (All runs Collect, Stage…), or "run" outside every action.</summary>
    private string CurrentAction
    {
        get { lock (gate) return started.Count > 0 ? started[^1] : RunLogLine.NoAction; }
    }

    /// <summary>An error or warning a task logged: one line with its action, code, peer and message.</summary>
    public void Problem(bool isError, string? code, string message)
    {
        var action = CurrentAction;
        var text = RunLogLine.ProblemTextOf(action, code, RunLogLine.PeerNamedIn(message, peers), message);
        if (isError)
        {
            lock (gate)
            {
                if (!errors.TryGetValue(action, out var list)) errors[action] = list = new List<string>();
                list.Add(text[(action.Length + 2)..]);
            }
        }
        Write(isError ? "ERROR" : "WARN", text);
    }

    /// <summary>
    /// Records a problem of a task: into this process's session, or, in a task host process, straight into the run
    /// log the build named in <see cref="EnvironmentVariable"/>.
    /// </summary>
    public static void Record(bool isError, string? code, string message)
    {
        if (Current is { } session) { session.Problem(isError, code, message); return; }
        if (Inherited() is not { } run) return;
        var text = RunLogLine.ProblemTextOf(run.Action, code, RunLogLine.PeerNamedIn(message, run.Peers), message);
        Append(run.File, RunLogLine.Format(DateTimeOffset.Now, run.Pid, isError ? "ERROR" : "WARN", text));
    }

    /// <summary>Whether a problem logged in this process reaches a run log.</summary>
    public static bool Recording => Current != null || Inherited() != null;

    private static (int Pid, string Action, string File, string[] Peers)? Inherited()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split('\t');
        if (parts.Length < 3 || !int.TryParse(parts[0], out var pid) || parts[2].Length == 0) return null;
        // Only a task host the build started itself: a program run by a task or a hook inherits the variable as well.
        if (ParentProcessId() != pid) return null;
        return (pid, parts[1], parts[2], parts.Length > 3 ? parts[3].Split(';') : Array.Empty<string>());
    }

    private static int? ParentProcessId()
    {
        try
        {
            // /proc/self/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ')'.
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.TryParse(fields[1], out var ppid) ? ppid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private void Publish(string action)
    {
        if (ended) return;
        Environment.SetEnvironmentVariable(EnvironmentVariable,
            string.Join('\t', Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), action, path,
                string.Join(';', peers)));
    }

    /// <summary>Writes the outcome of every unfinished action and the run's end status, once.</summary>
    public void End()
    {
        List<string> unfinished;
        lock (gate)
        {
            if (ended) return;
            ended = true;
            // Innermost first: Stage failed, so All did.
            unfinished = started.AsEnumerable().Reverse().ToList();
            unfinished.AddRange(requested.Where(t => tracked.Contains(t) && !succeeded.Contains(t)
                && !running.ContainsKey(t) && !unfinished.Contains(t, StringComparer.OrdinalIgnoreCase)));
        }
        var byOthers = unfinished.Any(a => running.ContainsKey(a) && !errors.ContainsKey(a) && !reasons.ContainsKey(a))
            ? ErrorsOfThisRunInTheFile() : new Dictionary<string, List<string>>();
        foreach (var (action, list) in byOthers) errors.TryAdd(action, list);
        foreach (var action in unfinished)
        {
            var why = reasons.TryGetValue(action, out var r) ? r
                : errors.TryGetValue(action, out var list) ? list[0] + (list.Count > 1 ? $"; {list.Count - 1} more above" : "")
                : !running.ContainsKey(action) ? "it did not start: a step before it failed"
                : failed.Count > 0 ? failed[0] + " failed"
                : "no BackupBuild task logged an error: see the build output";
            failed.Add(action);
            Write("ERROR", $"{action}: failed ({why})");
        }
        var untracked = requested.Where(t => !tracked.Contains(t)).ToList();
        var status = failed.Count > 0 ? "failed (" + string.Join(", ", failed) + ")"
            // Targets of other files (extensions, your own) have no outcome lines: say so rather than claim success.
            : untracked.Count > 0 ? "finished; no logged action failed (" + string.Join(", ", untracked) + " not logged: see the build output)"
            : "succeeded";
        Write(failed.Count == 0 ? "INFO" : "ERROR", $"run ended: {status} after {Infrastructure.Units.Seconds(clock.Elapsed)}");
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (ReferenceEquals(Current, this))
        {
            Current = null;
            Environment.SetEnvironmentVariable(EnvironmentVariable, null);
        }
    }

    public void Dispose() => End();

    /// <summary>The problem lines task host processes appended for this run, by action.</summary>
    private Dictionary<string, List<string>> ErrorsOfThisRunInTheFile()
    {
        var found = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < startOffset) return found; // rotated meanwhile
            stream.Seek(startOffset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (RunLogLine.Parse(line) is not { Level: "ERROR" } l || l.Pid != Environment.ProcessId) continue;
                if (RunLogLine.ParseProblem(l.Text) is not { } p) continue;
                if (!found.TryGetValue(p.Action, out var list)) found[p.Action] = list = new List<string>();
                list.Add(l.Text[(p.Action.Length + 2)..]);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return found;
    }

    private void OnProcessExit(object? sender, EventArgs e) => End();

    private void Write(string level, string message) =>
        Append(path, RunLogLine.Format(DateTimeOffset.Now, Environment.ProcessId, level, message));

    private static void Append(string file, string line)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(Encoding.UTF8.GetBytes(line));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
