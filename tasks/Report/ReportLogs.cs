using System.Text.RegularExpressions;
using BackupBuild.Tasks.Deploy;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Report;

/// <summary>One line of the report's failures and warnings: its day, peer (or ""), level, code (or "") and message.</summary>
internal sealed record ReportEvent(DateTime? Day, string Peer, string Level, string Code, string Text, string Where = "")
{
    public const string Failure = "failure", Warning = "warning";
}

/// <summary>
/// What the logs of recent runs say, each failure once: the run log (BackupLogFile, <see cref="RunLogLine"/>) is read
/// run by run; a problem a task logged is one event (the same code, peer and message on one day, once, however many
/// runs or targets saw it); a failed run adds no event of its own when it has such a problem, else one (BKP8217).
/// MSBuild log files (-flp) add their coded lines that the run log does not already have.
/// </summary>
internal sealed class ReportLogs
{
    private static readonly Regex CodedLine = new(@"\b(error|warning) (BKP\d{4}): (.*)$", RegexOptions.CultureInvariant);
    private static readonly Regex ProjectSuffix = new(@"\s+\[[^\]]*\]$", RegexOptions.CultureInvariant);

    private sealed class Run
    {
        public DateTime Day;
        public string Description = "";
        public bool Started, Ended, Failed;
        public string? FailedText;
        public readonly List<ReportEvent> Problems = new();
    }

    public List<ReportEvent> Events { get; } = new();
    public int Runs { get; private set; }
    public int FailedRuns { get; private set; }

    private readonly HashSet<(DateTime?, string, string, string)> _seen = new();
    private readonly HashSet<(string, string)> _seenMessages = new();

    /// <summary>Whether the file's lines are a run log's (else an MSBuild log file's).</summary>
    public static bool IsRunLog(IEnumerable<string> lines) => lines.Any(l => RunLogLine.Parse(l) != null);

    /// <summary>The runs of a run log whose day is <paramref name="from"/> or later.</summary>
    public void ReadRunLog(IEnumerable<string> lines, DateTime from)
    {
        var open = new Dictionary<int, Run>();
        var runs = new List<Run>();
        foreach (var line in lines)
        {
            if (RunLogLine.Parse(line) is not { } l) continue;
            if (RunLogLine.IsStart(l.Text) || !open.TryGetValue(l.Pid, out var run))
            {
                run = new Run { Day = l.Date };
                open[l.Pid] = run;
                runs.Add(run);
                if (RunLogLine.IsStart(l.Text))
                {
                    run.Started = true;
                    run.Description = l.Text["run started: ".Length..];
                    run.Day = RunLogLine.RunDateOf(l.Text) ?? l.Date;
                    continue;
                }
            }
            if (RunLogLine.IsEnd(l.Text))
            {
                run.Ended = true;
                if (l.Level == "ERROR") { run.Failed = true; run.FailedText ??= l.Text["run ended: ".Length..]; }
                open.Remove(l.Pid);
                continue;
            }
            var isError = l.Level == "ERROR";
            if (!isError && !l.Level.StartsWith("WARN", StringComparison.Ordinal)) continue;
            if (RunLogLine.ParseProblem(l.Text) is { } p)
            {
                run.Problems.Add(new ReportEvent(run.Day, p.Peer ?? "", isError ? ReportEvent.Failure : ReportEvent.Warning,
                    p.Code == "-" ? "" : p.Code, p.Message, p.Action));
            }
            else if (isError && l.Text.Contains(": failed (", StringComparison.Ordinal))
            {
                run.Failed = true;
                run.FailedText ??= l.Text;
            }
            else
            {
                // A line of another writer (or an older BackupBuild): kept as it is.
                run.Problems.Add(new ReportEvent(run.Day, "", isError ? ReportEvent.Failure : ReportEvent.Warning, "", l.Text));
            }
        }

        foreach (var run in runs.Where(r => r.Day >= from))
        {
            if (run.Started || run.Ended) Runs++;
            if (run.Failed) FailedRuns++;
            foreach (var e in run.Problems) Add(e);
            if (run.Failed && !run.Problems.Any(e => e.Level == ReportEvent.Failure))
                Add(new ReportEvent(run.Day, "", ReportEvent.Failure, "BKP8217",
                    Strip(BackupTask.Format("Report.RunFailed", run.Description, run.FailedText ?? ""))));
        }
    }

    /// <summary>The coded errors and warnings of an MSBuild log file (-flp), the last 50, except those the run log has.</summary>
    public void ReadBuildLog(IEnumerable<string> lines, string name, IReadOnlyList<string> peers)
    {
        var found = new List<ReportEvent>();
        foreach (var line in lines)
        {
            if (CodedLine.Match(line) is not { Success: true } m) continue;
            var message = ProjectSuffix.Replace(m.Groups[3].Value.Trim(), "");
            found.Add(new ReportEvent(null, RunLogLine.PeerNamedIn(message, peers) ?? "",
                m.Groups[1].Value == "error" ? ReportEvent.Failure : ReportEvent.Warning, m.Groups[2].Value, message, name));
        }
        foreach (var e in found.TakeLast(50)) Add(e);
    }

    private void Add(ReportEvent e)
    {
        var message = RunLogLine.OneLine(e.Text);
        // A build log's line the run log already has (no day there), or the same problem seen again that day.
        if (e.Day == null && e.Code.Length > 0 && _seenMessages.Contains((e.Code, message))) return;
        if (!_seen.Add((e.Day, e.Code, e.Peer, message))) return;
        if (e.Code.Length > 0) _seenMessages.Add((e.Code, message));
        Events.Add(e);
    }

    /// <summary>A resource string without its code (the event carries the code).</summary>
    public static string Strip(string formatted) =>
        formatted.Length > 9 && formatted.StartsWith("BKP", StringComparison.Ordinal) && formatted[7] == ':' ? formatted[9..] : formatted;

    public static string CodeOf(string formatted) =>
        formatted.Length > 9 && formatted.StartsWith("BKP", StringComparison.Ordinal) && formatted[7] == ':' ? formatted[..7] : "";
}
