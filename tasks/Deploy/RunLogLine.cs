using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// The lines of the run log (BackupLogFile), written by BackupBuild's MSBuild logger (logger/RunLogger.cs, which
/// compiles this file too) and read by the Report:
/// <c>2026-11-24T01:00:09+00:00 [4242] LEVEL message</c>. A problem a task logged has its own line,
/// <c>ERROR Stage: BKP3052 laptop: message</c> (the action, the code, the peer when the message names a
/// configured one, the message on one line); an action's outcome is <c>INFO  Stage: succeeded (2 s)</c> or
/// <c>ERROR Stage: failed (why)</c>; a run opens with <c>run started: backup.proj -t:All on HOST (BackupPeer PEER) as USER</c> and closes with <c>run ended: …</c>.
/// One place for the format: the logger writes it, the Report parses it.
/// </summary>
public static class RunLogLine
{
    /// <summary>The action of a problem logged outside every logged action (an initial target).</summary>
    public const string NoAction = "run";

    private const int MaxMessage = 2000;

    private static readonly Regex Line = new(@"^(?<date>\d{4}-\d{2}-\d{2})T\S+ \[(?<pid>\d+)\] (?<level>[A-Z]+)\s+(?<text>.*)$",
        RegexOptions.CultureInvariant);
    private static readonly Regex ProblemText = new(@"^(?<action>[^\s:]+): (?<code>[A-Z]+\d+|-)(?: (?<peer>[^\s:]+))?: (?<message>.*)$",
        RegexOptions.CultureInvariant);
    private static readonly Regex RunDate = new(@", run date (\d{4}-\d{2}-\d{2})\b", RegexOptions.CultureInvariant);

    /// <summary>A whole line, with its end.</summary>
    public static string Format(DateTimeOffset time, int pid, string level, string text) =>
        string.Create(CultureInfo.InvariantCulture, $"{time:yyyy-MM-dd'T'HH:mm:sszzz} [{pid}] {level,-5} {text}\n");

    /// <summary>The text of a problem line: one line, whatever the message held.</summary>
    public static string ProblemTextOf(string action, string? code, string? peer, string message)
    {
        var sb = new StringBuilder();
        sb.Append(string.IsNullOrEmpty(action) ? NoAction : action).Append(": ").Append(string.IsNullOrEmpty(code) ? "-" : code);
        if (!string.IsNullOrEmpty(peer)) sb.Append(' ').Append(peer);
        sb.Append(": ").Append(OneLine(message));
        return sb.ToString();
    }

    /// <summary>
    /// The machine a start line names: its host name, and the BackupPeer this run acts as when that differs
    /// (<c>on backup1</c>, <c>on backup1 (BackupPeer master)</c>).
    /// </summary>
    public static string Machine(string host, string? peer) =>
        string.IsNullOrWhiteSpace(peer) || string.Equals(peer.Trim(), host, StringComparison.Ordinal)
            ? host : $"{host} (BackupPeer {peer.Trim()})";

    /// <summary>A duration as the outcome lines give it: "2.5 s".</summary>
    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private static readonly Regex DoubledPeriod = new(@"(?<=[\p{L}\p{N})\]'""])\.\.(?=\s|$)", RegexOptions.CultureInvariant);

    /// <summary>
    /// Line breaks and control characters become " | " and spaces; a sentence that ended twice (an exception's message
    /// ending in a period, placed before ". Nothing was done") ends once; very long messages are cut.
    /// </summary>
    public static string OneLine(string message)
    {
        var text = DoubledPeriod.Replace(message.Trim().Replace("\r\n", "\n"), ".");
        var sb = new StringBuilder(Math.Min(text.Length, MaxMessage + 1));
        foreach (var c in text)
        {
            if (sb.Length >= MaxMessage) { sb.Append('…'); break; }
            if (c == '\n' || c == '\r') sb.Append(" | ");
            else sb.Append(char.IsControl(c) ? ' ' : c);
        }
        return sb.ToString();
    }

    /// <summary>The configured peer a message names (quoted, as every BackupBuild message names its item), or null.</summary>
    public static string? PeerNamedIn(string message, IEnumerable<string> peers)
    {
        string? found = null;
        var at = int.MaxValue;
        foreach (var peer in peers)
        {
            if (peer.Length == 0 || peer.Any(c => char.IsWhiteSpace(c) || c == ':')) continue;
            var i = message.IndexOf("\"" + peer + "\"", StringComparison.Ordinal);
            if (i >= 0 && i < at) { at = i; found = peer; }
        }
        return found;
    }

    public sealed record Parsed(DateTime Date, int Pid, string Level, string Text);

    public sealed record Problem(string Action, string Code, string? Peer, string Message);

    public static Parsed? Parse(string line)
    {
        var m = Line.Match(line);
        if (!m.Success) return null;
        return new Parsed(DateTime.ParseExact(m.Groups["date"].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture), m.Groups["level"].Value, m.Groups["text"].Value.Trim());
    }

    /// <summary>The problem a line's text records, or null for an outcome or start/end line.</summary>
    public static Problem? ParseProblem(string text)
    {
        var m = ProblemText.Match(text);
        if (!m.Success) return null;
        return new Problem(m.Groups["action"].Value, m.Groups["code"].Value,
            m.Groups["peer"].Success ? m.Groups["peer"].Value : null, m.Groups["message"].Value);
    }

    public static bool IsStart(string text) => text.StartsWith("run started: ", StringComparison.Ordinal);
    public static bool IsEnd(string text) => text.StartsWith("run ended: ", StringComparison.Ordinal);

    /// <summary>The backup day a start line names (BackupRunDate), or null.</summary>
    public static DateTime? RunDateOf(string startText) =>
        RunDate.Match(startText) is { Success: true } m
            ? DateTime.ParseExact(m.Groups[1].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture) : null;
}
