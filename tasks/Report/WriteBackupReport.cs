using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tasks.Restore;
using BackupBuild.Tasks.Store.Iso;
using BackupBuild.Tasks.Verify;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Report;

/// <summary>
/// The Report action: one self-contained HTML page (inline CSS and SVG, nothing fetched) with, for each peer,
/// the last successful collect, stage and store, its stored size per day over the last weeks as a chart, the
/// failures and warnings of recent runs, and the media in use; and the same summary as plain text for mail.
/// </summary>
public sealed class WriteBackupReport : StoredDataTask
{
    /// <summary>@(BackupReportSettings): ReportFile, ReportTextFile (empty: none), ReportWeeks (Settings/ReportSettings).</summary>
    public ITaskItem? ReportSettings { get; set; }
    /// <summary>MSBuild log files of recent runs (-flp:logfile=…) whose coded errors and warnings are listed.</summary>
    public string? LogFiles { get; set; }
    /// <summary>The configured peers: listed even when nothing of theirs is stored.</summary>
    public ITaskItem[] Peers { get; set; } = Array.Empty<ITaskItem>();
    /// <summary>@(BackupRunSettings): the day the report is made as of, and the week.</summary>
    public ITaskItem? RunSettings { get; set; }
    public string? WorkingDir { get; set; }
    /// <summary>Mail settings (docs/request-queue.md): with MailTo the summary is also mailed.</summary>
    public ITaskItem? MailSettings { get; set; }

    /// <summary>The plain-text summary (also written to TextFile), for a notification mail.</summary>
    [Output] public string Summary { get; private set; } = "";

    private sealed class PeerState
    {
        public DateTime? Collected, Staged, Stored;
        public SortedDictionary<DateTime, long> Sizes { get; } = new();
        /// <summary>How far its last stage and store are behind the pool's newest (failure, warning or null) and why.</summary>
        public ReportEvent? StageMark, StoreMark;
    }

    protected override bool Run()
    {
        var problems = new Problems();
        var media = Media(problems);
        var report = Settings.ReportSettings.Parse(ReportSettings, problems);
        var (reportFile, textFile, weeks) = (report?.ReportFile, report?.TextFile, report?.Weeks ?? 1);
        var clock = Settings.RunSettings.Parse(RunSettings, problems)?.Clock;
        var logs = Values.List(LogFiles);
        var mailer = Mailer.Parse(MailSettings, problems);
        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        using var catalog = Catalog(media!);
        if (catalog == null) return false;
        var today = clock!.Today;
        var from = today.AddDays(-7 * weeks + 1);
        var peers = Peers.Select(p => p.ItemSpec).Concat(catalog.Peers).Distinct().Order(StringComparer.Ordinal).ToList();
        var configured = Peers.Select(p => p.ItemSpec).Where(p => p.Length > 0).Distinct().ToList();
        var states = new Dictionary<string, PeerState>();
        var events = new List<ReportEvent>();
        string? staging = media!.Staging;
        bool DayHas(DateTime day, string indicator) =>
            staging != null && File.Exists(Path.Combine(staging, RunClock.DayPath(day), indicator));

        foreach (var peer in peers)
        {
            var state = states[peer] = new PeerState();
            foreach (var day in catalog.Days(peer))
            {
                var names = catalog.Names(day, peer);
                var copies = names.SelectMany(n => catalog.Copies(day, peer, n)).ToList();
                var collected = names.Contains(Indicators.Collect) || names.Contains(CollectManifest.FileName);
                var offStaging = copies.Any(c => !c.Medium.StartsWith("staging ", StringComparison.Ordinal));
                if (collected) state.Collected = Max(state.Collected, day);
                if (collected && (DayHas(day, Indicators.Stage) || offStaging)) state.Staged = Max(state.Staged, day);
                if (collected && (DayHas(day, Indicators.Store) || copies.Any(c => c.Medium.StartsWith("image ", StringComparison.Ordinal))))
                    state.Stored = Max(state.Stored, day);
                if (day >= from && day <= today)
                    // Each stored file once (a split file's pieces, not also the whole the catalog joins from them).
                    state.Sizes[day] = names.Where(n => !Indicators.IsIndicator(n))
                        .Sum(n => catalog.Copies(day, peer, n).FirstOrDefault(c => !c.Joined)?.Size ?? 0);
            }
        }

        MarkPeersBehind(configured.Count > 0 ? configured : peers, states, events);

        // Holes: staged days of the window where a peer was not ready (its folder empty or without cback.collect) or
        // not staged at all (no folder; only from the peer's first day on), and stored days whose manifest names an
        // archive no medium holds. Verify's findings (below) add the archives that do not read back.
        var holes = new SortedDictionary<DateTime, SortedSet<string>>();
        var named = new HashSet<(DateTime, string)>();
        void Hole(DateTime day, string peer, string resource, params object[] args)
        {
            if (resource != "Report.ArchivesAbsent" && !named.Add((day, peer))) return; // once per peer and day
            var text = Format(resource, args);
            events.Add(new ReportEvent(day, peer, ReportEvent.Failure, ReportLogs.CodeOf(text), ReportLogs.Strip(text)));
            if (!holes.TryGetValue(day, out var set)) holes[day] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.Add(peer);
        }
        if (staging != null && Directory.Exists(staging))
        {
            for (var day = from; day <= today; day = day.AddDays(1))
            {
                if (!DayHas(day, Indicators.Stage)) continue;
                foreach (var peer in peers)
                {
                    var dir = Path.Combine(staging, RunClock.DayPath(day), peer);
                    if (Directory.Exists(dir))
                    {
                        if (!File.Exists(Path.Combine(dir, Indicators.Collect))) Hole(day, peer, "Report.NotCollected");
                    }
                    else if (configured.Contains(peer) && catalog.Days(peer).FirstOrDefault() is var first && first != default && first < day)
                    {
                        Hole(day, peer, "Report.NotStaged");
                    }
                }
            }
        }
        // The rule Restore and Verify judge by (RestoreTimeline.MissedDays): also days on the media only (an image, S3).
        foreach (var peer in configured.Count > 0 ? configured : peers)
        foreach (var (day, gap) in RestoreTimeline.MissedDays(catalog, peer).Where(m => m.Key >= from && m.Key <= today))
            Hole(day, peer, !catalog.HasFolder(day, peer) ? "Report.NotStaged"
                : !catalog.Names(day, peer).Contains(Indicators.Collect) ? "Report.NotCollected" : "Report.NoManifest");
        foreach (var peer in peers)
        {
            foreach (var day in catalog.Days(peer).Where(d => d >= from && d <= today))
            {
                if (catalog.Manifest(day, peer) is not { } manifest) continue;
                var absent = manifest.Items.Where(i => i.Archive != null && catalog.Copies(day, peer, i.Archive).Count == 0)
                    .Select(i => i.Archive!).Distinct().ToList();
                if (absent.Count > 0)
                    Hole(day, peer, "Report.ArchivesAbsent", absent.Count, string.Join(", ", absent.Take(5)) + (absent.Count > 5 ? ", …" : ""));
            }
        }

        // Staged days of the window that are on no medium yet.
        if (staging != null && Directory.Exists(staging))
        {
            for (var day = from; day < today; day = day.AddDays(1))
            {
                if (!DayHas(day, Indicators.Stage) || DayHas(day, Indicators.Store)) continue;
                var onImage = peers.Any(p => catalog.Names(day, p).Any(n => catalog.Copies(day, p, n).Any(c => c.Medium.StartsWith("image ", StringComparison.Ordinal))));
                if (!onImage) events.Add(Coded(day, "", ReportEvent.Warning, "Report.NotStored"));
            }
        }

        // The last Verify.
        var verifyPath = WorkingDir == null ? null : Path.Combine(WorkingDir, VerifyStoredArchives.ResultFile);
        string verifyLine = Format("Report.NeverVerified");
        if (verifyPath != null && File.Exists(verifyPath))
        {
            try
            {
                var v = JsonSerializer.Deserialize<VerifyStoredArchives.Result>(File.ReadAllBytes(verifyPath))!;
                verifyLine = v.Encrypted > 0 ? Format("Report.VerifiedEncrypted", v.Date, v.Checked, v.Findings.Count, v.Encrypted)
                    : Format("Report.Verified", v.Date, v.Checked, v.Findings.Count);
                foreach (var f in v.Findings)
                    events.Add(new ReportEvent(DateTime.ParseExact(v.Date, "yyyy-MM-dd", CultureInfo.InvariantCulture), "", ReportEvent.Failure, "",
                        $"{f.Kind} {f.Location} {f.Detail}".Trim(), "Verify"));
            }
            catch (Exception e) when (e is JsonException or IOException or FormatException or NullReferenceException)
            {
                verifyLine = Format("Report.NeverVerified");
            }
        }

        // Errors and warnings of recent runs: the run log first (run by run, each problem once), then MSBuild log files.
        var runLogs = new ReportLogs();
        var buildLogs = new List<(string Name, string[] Lines)>();
        foreach (var log in logs)
        {
            try
            {
                if (!File.Exists(log)) continue; // no run has written it yet
                var lines = File.ReadAllLines(log);
                if (ReportLogs.IsRunLog(lines)) runLogs.ReadRunLog(lines, from);
                else buildLogs.Add((Path.GetFileName(log), lines));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.LogWarningWithCodeFromResources("Report.LogUnreadable", log, e.Message);
            }
        }
        foreach (var (name, lines) in buildLogs) runLogs.ReadBuildLog(lines, name, configured.Count > 0 ? configured : peers);
        events.AddRange(runLogs.Events);
        var runsLine = Format("Report.Runs", runLogs.Runs, runLogs.FailedRuns);
        var holeLine = holes.Count == 0 ? null
            : Format("Report.HoleDays", string.Join(", ", holes.Select(h => $"{D(h.Key)} ({string.Join(", ", h.Value)})")));

        var mediaLines = MediaLines(catalog, media);
        var text = Text(today, peers, states, events, mediaLines, verifyLine, runsLine, holeLine);
        var html = Html(today, from, peers, states, events, mediaLines, verifyLine, runsLine, holeLine);
        Directory.CreateDirectory(Path.GetDirectoryName(reportFile!)!);
        AtomicFile.WriteAllBytes(reportFile!, Encoding.UTF8.GetBytes(html));
        if (textFile != null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(textFile)!);
            AtomicFile.WriteAllBytes(textFile, Encoding.UTF8.GetBytes(text));
        }
        Summary = text;
        if (mailer!.Configured)
        {
            var subject = Format("Report.MailSubject", D(today), events.Count(e => e.Level == ReportEvent.Failure), events.Count(e => e.Level == ReportEvent.Warning),
                FailedNames(events));
            if (mailer.Send(subject, text) is { } error) Log.LogWarningWithCodeFromResources("Mail.Failed", string.Join(", ", mailer.To), error);
            else Detail("Report.Mailed", string.Join(", ", mailer.To));
        }
        Detail("Report.Text", text);
        Progress("Report.Written", reportFile!, textFile ?? "", peers.Count, events.Count(e => e.Level == ReportEvent.Failure), events.Count(e => e.Level == ReportEvent.Warning));
        return true;
    }

    /// <summary>What failed, for the mail's subject: " (laptop BKP3052, Store BKP1800, …)", the first three; "" without failures.</summary>
    internal static string FailedNames(IEnumerable<ReportEvent> events)
    {
        var names = events.Where(e => e.Level == ReportEvent.Failure)
            .Select(e => string.Join(' ', new[] { e.Peer.Length > 0 ? e.Peer : e.Where, e.Code }.Where(s => s.Length > 0)))
            .Where(n => n.Length > 0).Distinct().ToList();
        return names.Count == 0 ? "" : " (" + string.Join(", ", names.Take(3)) + (names.Count > 3 ? ", …" : "") + ")";
    }

    private static DateTime? Max(DateTime? a, DateTime b) => a == null || b > a ? b : a;

    private static ReportEvent Coded(DateTime? day, string peer, string level, string resource, params object[] args)
    {
        var text = Format(resource, args);
        return new ReportEvent(day, peer, level, ReportLogs.CodeOf(text), ReportLogs.Strip(text));
    }

    /// <summary>
    /// A peer whose last stage is behind the newest day any peer was staged: one day is a warning, more (or never) a
    /// failure; the same for its last store against the newest stored day, when that says more than its stage does
    /// (a day that was not staged cannot be stored, and is reported once).
    /// </summary>
    private static void MarkPeersBehind(IEnumerable<string> peers, Dictionary<string, PeerState> states, List<ReportEvent> events)
    {
        var list = peers.Where(states.ContainsKey).ToList();
        var newestStaged = list.Select(p => states[p].Staged).Max();
        var newestStored = list.Select(p => states[p].Stored).Max();
        foreach (var p in list)
        {
            var s = states[p];
            var stageLag = Lag(newestStaged, s.Staged);
            var storeLag = Lag(newestStored, s.Stored);
            s.StageMark = Mark(p, stageLag, newestStaged, s.Staged, "Report.StageOneDayBehind", "Report.StageBehind", "Report.NeverStaged");
            if (storeLag > stageLag)
                s.StoreMark = Mark(p, storeLag, newestStored, s.Stored, "Report.StoreOneDayBehind", "Report.StoreBehind", "Report.NeverStored");
            foreach (var mark in new[] { s.StageMark, s.StoreMark }) if (mark != null) events.Add(mark);
        }

        static int Lag(DateTime? newest, DateTime? last) =>
            newest == null ? 0 : last == null ? int.MaxValue : Math.Max(0, (newest.Value - last.Value).Days);

        static ReportEvent? Mark(string peer, int lag, DateTime? newest, DateTime? last, string oneDay, string more, string never) =>
            lag == 0 ? null
            : lag == 1 ? Coded(newest, peer, ReportEvent.Warning, oneDay, D(last), D(newest))
            : Coded(newest, peer, ReportEvent.Failure, last == null ? never : more, D(last), D(newest), lag);
    }

    private static string Line(ReportEvent e) =>
        $"{(e.Day == null ? "" : D(e.Day) + " ")}{(e.Peer.Length > 0 ? e.Peer + ": " : "")}{(e.Code.Length > 0 ? e.Code + ": " : "")}{e.Text}" +
        (e.Where.Length > 0 ? $" ({e.Where})" : "");

    private static List<string> MediaLines(StoredCatalog catalog, MediaSettings media)
    {
        var lines = new List<string>();
        foreach (var m in catalog.Media)
        {
            if (m.StartsWith("image ", StringComparison.Ordinal))
            {
                var path = m["image ".Length..];
                try
                {
                    using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                    var state = IsoMedium.Inspect(s);
                    lines.Add(Format("Report.ImageMedium", path, state.Head?.VolumeId ?? "", state.Sessions.Count, Units.Bytes(s.Length)));
                }
                catch (Exception e) when (e is IOException or InvalidDataException)
                {
                    lines.Add(m + ": " + Sentences.Of(e));
                }
            }
            else
            {
                var copies = catalog.All.SelectMany(kv => kv.Value).Where(c => c.Medium == m && !c.Joined).ToList();
                lines.Add(Format("Report.OtherMedium", m, copies.Count, Units.Bytes(copies.Sum(c => c.Size))));
            }
        }
        foreach (var image in media.Images.Where(i => !File.Exists(i)))
            lines.Add(Format("Report.ImageAbsent", image));
        return lines;
    }

    private static string D(DateTime? d) => d?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "never";

    private static string Text(DateTime today, List<string> peers, Dictionary<string, PeerState> states, List<ReportEvent> events,
        List<string> mediaLines, string verifyLine, string runsLine, string? holeLine)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Format("Report.Title", D(today)));
        sb.AppendLine();
        foreach (var p in peers)
        {
            var s = states[p];
            var marks = new[] { s.StageMark, s.StoreMark }.Where(m => m != null).Select(m => $" [{m!.Level}: {m.Code}]");
            sb.AppendLine($"{p}: collected {D(s.Collected)}, staged {D(s.Staged)}, stored {D(s.Stored)}, " +
                          $"{Units.Bytes(s.Sizes.Values.Sum())} in the last {s.Sizes.Count} stored days{string.Concat(marks)}");
        }
        if (holeLine != null) sb.AppendLine(holeLine);
        sb.AppendLine();
        var failures = events.Count(e => e.Level == ReportEvent.Failure);
        var warnings = events.Count(e => e.Level == ReportEvent.Warning);
        sb.AppendLine($"{failures} failures, {warnings} warnings; {runsLine}");
        foreach (var e in Ordered(events).Take(40))
            sb.AppendLine($"  {e.Level,-8} {Line(e)}");
        sb.AppendLine();
        sb.AppendLine(verifyLine);
        sb.AppendLine("Media:");
        foreach (var m in mediaLines) sb.AppendLine("  " + m);
        return sb.ToString();
    }

    /// <summary>Newest first, failures before warnings on a day.</summary>
    private static IEnumerable<ReportEvent> Ordered(List<ReportEvent> events) =>
        events.OrderByDescending(e => e.Day ?? DateTime.MaxValue).ThenBy(e => e.Level == ReportEvent.Failure ? 0 : 1);

    private static string Html(DateTime today, DateTime from, List<string> peers, Dictionary<string, PeerState> states,
        List<ReportEvent> events, List<string> mediaLines, string verifyLine, string runsLine, string? holeLine)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var failures = events.Count(e => e.Level == ReportEvent.Failure);
        var warnings = events.Count(e => e.Level == ReportEvent.Warning);
        var sb = new StringBuilder();
        sb.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{E(Format("Report.Title", D(today)))}}</title>
            <style>
            body{font-family:sans-serif;margin:2em;color:#222;background:#fafafa}
            h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.5em}
            table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}
            th{background:#eee} .ok{color:#1a7f37} .old{color:#b35900} .failure{color:#c62828} .warning{color:#b35900}
            .status{display:inline-block;padding:.2em .6em;border-radius:.3em;color:#fff}
            .good{background:#1a7f37} .bad{background:#c62828} .meh{background:#b35900}
            svg{background:#fff;border:1px solid #ddd}
            </style></head><body>
            <h1>{{E(Format("Report.Title", D(today)))}}</h1>
            <p><span class="status {{(failures > 0 ? "bad" : warnings > 0 ? "meh" : "good")}}">{{failures}} failures, {{warnings}} warnings</span>
            &nbsp;{{E(runsLine)}}. {{E(verifyLine)}}</p>
            <h2>Peers</h2>
            <table><tr><th>peer</th><th>last collect</th><th>last stage</th><th>last store</th><th>stored, last {{(today - from).Days + 1}} days</th></tr>

            """);
        foreach (var p in peers)
        {
            var s = states[p];
            string Cell(DateTime? d, ReportEvent? mark = null) => mark != null
                ? $"<td class=\"{mark.Level}\" title=\"{E(mark.Code + ": " + mark.Text)}\">{D(d)} ({mark.Level})</td>"
                : $"<td class=\"{(d != null && (today - d.Value).TotalDays <= 1 ? "ok" : "old")}\">{D(d)}</td>";
            sb.Append($"<tr><td>{E(p)}</td>{Cell(s.Collected)}{Cell(s.Staged, s.StageMark)}{Cell(s.Stored, s.StoreMark)}<td>{E(Units.Bytes(s.Sizes.Values.Sum()))}</td></tr>\n");
        }
        sb.Append("</table>\n");
        if (holeLine != null) sb.Append($"<p class=\"failure\">{E(holeLine)}</p>\n");
        sb.Append("<h2>Size per day</h2>\n");
        foreach (var p in peers)
        {
            sb.Append($"<h3>{E(p)}</h3>\n");
            sb.Append(Chart(from, today, states[p].Sizes));
        }
        sb.Append("<h2>Failures and warnings</h2>\n");
        if (events.Count == 0) sb.Append("<p class=\"ok\">None.</p>\n");
        else
        {
            sb.Append("<table><tr><th>day</th><th>peer</th><th>level</th><th>code</th><th>what</th><th>where</th></tr>\n");
            foreach (var e in Ordered(events).Take(200))
                sb.Append($"<tr><td>{(e.Day == null ? "" : D(e.Day))}</td><td>{E(e.Peer)}</td><td class=\"{e.Level}\">{e.Level}</td>" +
                    $"<td>{E(e.Code)}</td><td>{E(e.Text)}</td><td>{E(e.Where)}</td></tr>\n");
            sb.Append("</table>\n");
        }
        sb.Append("<h2>Media</h2>\n<ul>\n");
        foreach (var m in mediaLines) sb.Append($"<li>{E(m)}</li>\n");
        sb.Append("</ul>\n</body></html>\n");
        return sb.ToString();
    }

    /// <summary>An inline SVG bar chart: one bar per day of the window, height by size.</summary>
    private static string Chart(DateTime from, DateTime to, SortedDictionary<DateTime, long> sizes)
    {
        var days = (to - from).Days + 1;
        const int barWidth = 14, height = 120, left = 60, bottom = 30;
        var width = left + days * (barWidth + 4) + 10;
        var max = Math.Max(1, sizes.Values.DefaultIfEmpty(0).Max());
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height + bottom + 10}\" role=\"img\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"16\" font-size=\"11\">{WebUtility.HtmlEncode(Units.Bytes(max))}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left - 4}\" y1=\"{height + 5}\" x2=\"{width - 5}\" y2=\"{height + 5}\" stroke=\"#999\"/>\n");
        for (var i = 0; i < days; i++)
        {
            var day = from.AddDays(i);
            var x = left + i * (barWidth + 4);
            if (sizes.TryGetValue(day, out var size))
            {
                var h = Math.Max(2, (int)Math.Round((double)size / max * (height - 10)));
                sb.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{x}\" y=\"{height + 5 - h}\" width=\"{barWidth}\" height=\"{h}\" fill=\"#3b7dd8\"><title>{day:yyyy-MM-dd}: {WebUtility.HtmlEncode(Units.Bytes(size))}</title></rect>\n");
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{height + 2}\" width=\"{barWidth}\" height=\"3\" fill=\"#ddd\"><title>{day:yyyy-MM-dd}: nothing stored</title></rect>\n");
            }
            if (day.DayOfWeek == DayOfWeek.Monday || i == 0)
                sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{height + 22}\" font-size=\"10\">{day:MM-dd}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

}
