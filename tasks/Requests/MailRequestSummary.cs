using System.Globalization;
using System.Text;
using BackupBuild.Tasks.Infrastructure;

namespace BackupBuild.Tasks.Requests;

/// <summary>
/// -t:RequestSummary on a backup server (cron, once a day): mails the administrators what each client
/// sent and what was pulled (or failed) on a day, from RequestServerRoot/history. The day is
/// yesterday by default (SummaryDate=yyyy-MM-dd picks another); the summary is also logged.
/// </summary>
public sealed class MailRequestSummary : RequestServerTask
{
    public string? SummaryDate { get; set; }

    protected override bool Run()
    {
        var problems = new Problems();
        LoadCommon(problems, clientsRequired: false);
        var clock = Settings.RunSettings.Parse(RunSettings, problems)?.Clock;
        DateTime day = default;
        if (!string.IsNullOrWhiteSpace(SummaryDate) &&
            !DateTime.TryParseExact(SummaryDate.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
            problems.Error("Requests.BadSummaryDate", SummaryDate);
        problems.LogTo(Log);
        if (problems.HasErrors || clock == null) return false;
        if (string.IsNullOrWhiteSpace(SummaryDate)) day = clock.Today.AddDays(-1);

        var dir = HistoryDir(day);
        var events = Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir).Where(f => !Path.GetFileName(f).StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
                .Select(f => (Name: Path.GetFileName(f), Text: File.ReadAllText(f).Trim(), Time: File.GetLastWriteTime(f)))
                .OrderBy(e => e.Time).ToList()
            : new();
        var clients = ClientList.Select(c => c.Name).Concat(events.Select(e => e.Name.Split('.')[0])).Distinct().Order(StringComparer.Ordinal);
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"Backup requests on {Host} on {day:yyyy-MM-dd}\n");
        foreach (var client in clients)
        {
            var mine = events.Where(e => e.Name.StartsWith(client + ".", StringComparison.Ordinal)).ToList();
            int Count(string kind) => mine.Count(e => e.Name.EndsWith("." + kind, StringComparison.Ordinal));
            body.Append(CultureInfo.InvariantCulture,
                $"\n{client}: {Count("received")} request(s) received, {Count("pulled")} pulled, {Count("failed")} failed attempt(s), {Count("refused")} refused\n");
            foreach (var e in mine) body.Append(CultureInfo.InvariantCulture, $"  {e.Time:HH:mm:ss}  {Kind(e.Name)}  {e.Text}\n");
            if (mine.Count == 0) body.Append("  nothing was sent or pulled\n");
        }
        var text = body.ToString();
        foreach (var line in text.TrimEnd('\n').Split('\n')) Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, line);
        if (Mail is { Configured: true })
        {
            var failure = Mail.Send($"[{Host}] BackupBuild: daily summary for {day:yyyy-MM-dd}", text);
            if (failure != null)
            {
                Log.LogErrorWithCodeFromResources("Mail.SummaryFailed", string.Join(", ", Mail.To), failure);
                return false;
            }
            Progress("Requests.SummaryMailed", string.Join(", ", Mail.To));
        }
        return true;
    }

    private static string Kind(string name) => name[(name.LastIndexOf('.') + 1)..];
}
