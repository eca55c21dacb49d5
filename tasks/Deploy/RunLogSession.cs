using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// One run's lines in the log file (Cedar's /var/log/cback3.log): its start, each action's outcome, its end status.
/// Every line is appended on its own (O_APPEND), so concurrent runs interleave whole lines. The end is written when
/// MSBuild disposes the session at the end of the build, or when the process exits, whichever comes first; an action
/// that started but never reported success failed, and so did a requested one that never started.
/// </summary>
public sealed class RunLogSession : IDisposable
{
    private readonly object gate = new();
    private readonly string path;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Dictionary<string, Stopwatch> running = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> succeeded = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> reasons = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> failed = new();
    private readonly IReadOnlyList<string> requested;
    private readonly ISet<string> tracked;
    private bool ended;

    /// <summary>The session of the build in progress in this process (null between builds).</summary>
    public static RunLogSession? Current { get; private set; }

    public RunLogSession(string path, IReadOnlyList<string> requestedTargets, IEnumerable<string> trackedActions)
    {
        this.path = path;
        requested = requestedTargets;
        tracked = new HashSet<string>(trackedActions, StringComparer.OrdinalIgnoreCase);
        Current = this;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public string Path => path;

    public void Start(string description) => Write("INFO ", "run started: " + description);

    public void ActionStarted(string action)
    {
        lock (gate) running[action] = Stopwatch.StartNew();
        Write("INFO ", action + ": started");
    }

    public void ActionSucceeded(string action)
    {
        TimeSpan took;
        lock (gate)
        {
            took = running.Remove(action, out var sw) ? sw.Elapsed : TimeSpan.Zero;
            succeeded.Add(action);
        }
        Write("INFO ", $"{action}: succeeded ({Infrastructure.Units.Seconds(took)})");
    }

    /// <summary>Why an action is failing (a hook), written with its "failed" line.</summary>
    public void NoteFailure(string action, string reason)
    {
        lock (gate) reasons[action] = reason;
    }

    /// <summary>Writes the outcome of every unfinished action and the run's end status, once.</summary>
    public void End()
    {
        List<string> unfinished;
        lock (gate)
        {
            if (ended) return;
            ended = true;
            unfinished = running.Keys.ToList();
            unfinished.AddRange(requested.Where(t => tracked.Contains(t) && !succeeded.Contains(t)
                && !running.ContainsKey(t) && !unfinished.Contains(t, StringComparer.OrdinalIgnoreCase)));
        }
        foreach (var action in unfinished)
        {
            failed.Add(action);
            var why = reasons.TryGetValue(action, out var r) ? r
                : running.ContainsKey(action) ? "an error stopped it; see the build output"
                : "it did not start: a step before it failed";
            Write("ERROR", $"{action}: failed ({why})");
        }
        var untracked = requested.Where(t => !tracked.Contains(t)).ToList();
        var status = failed.Count > 0 ? "failed (" + string.Join(", ", failed) + ")"
            // Targets of other files (extensions, your own) have no outcome lines: say so rather than claim success.
            : untracked.Count > 0 ? "finished; no logged action failed (" + string.Join(", ", untracked) + " not logged: see the build output)"
            : "succeeded";
        Write(failed.Count == 0 ? "INFO " : "ERROR", $"run ended: {status} after {Infrastructure.Units.Seconds(clock.Elapsed)}");
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (ReferenceEquals(Current, this)) Current = null;
    }

    public void Dispose() => End();

    private void OnProcessExit(object? sender, EventArgs e) => End();

    private void Write(string level, string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.Now:yyyy-MM-dd'T'HH:mm:sszzz} [{Environment.ProcessId}] {level} {message}\n");
        try
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(Encoding.UTF8.GetBytes(line));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
