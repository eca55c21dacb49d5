using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>The machine's part in the pool, which decides its cron entries.</summary>
public enum ScheduleRole { Client, Master, Pool }

/// <summary>One cron line: when (five fields), the targets it runs, and whether it is a request-queue line (run as the request user).</summary>
public sealed record CronEntry(string When, string Targets, bool Request = false);

/// <summary>
/// What /etc/cron.d/backupbuild holds for this machine: Cedar's suggested schedules (client: collect, purge; master:
/// collect its own data, stage, store, purge; pool of one: all) and the request queue's entries when configured.
/// </summary>
public static class Schedule
{
    private static readonly Regex CronFileName = new("^[A-Za-z0-9_-]+$");
    private static readonly Regex CronField = new(@"^[0-9*/,\-A-Za-z]+$");

    /// <summary>
    /// client: this machine is listed as a remote Peer (the layout where every machine sees every Peer item), or no
    /// Peer item is visible here at all; master: there are Peer items for other machines; pool: the only Peer is this
    /// machine.
    /// </summary>
    public static ScheduleRole DetectRole(IEnumerable<ITaskItem> peers, string thisPeer)
    {
        var all = peers.ToList();
        bool IsMe(ITaskItem p) => string.Equals(p.ItemSpec, thisPeer, StringComparison.OrdinalIgnoreCase);
        if (all.Any(p => IsMe(p) && string.Equals(p.GetMetadata("Type"), "remote", StringComparison.OrdinalIgnoreCase)))
            return ScheduleRole.Client;
        if (all.Any(p => !IsMe(p))) return ScheduleRole.Master;
        return all.Count > 0 ? ScheduleRole.Pool : ScheduleRole.Client;
    }

    /// <summary>Why the Peer items disagree with an explicit BackupRole, or null when they agree.</summary>
    public static string? RoleDisagreement(ScheduleRole declared, IEnumerable<ITaskItem> peers, string thisPeer)
    {
        var all = peers.ToList();
        var detected = DetectRole(all, thisPeer);
        if (detected == declared) return null;
        // A master that stages only others and a pool differ only in their peers: a master with no other peer is odd
        // but a client with no Peer items is how the documented layout looks on a client.
        if (declared == ScheduleRole.Client && detected == ScheduleRole.Client) return null;
        var me = all.FirstOrDefault(p => string.Equals(p.ItemSpec, thisPeer, StringComparison.OrdinalIgnoreCase));
        return detected switch
        {
            ScheduleRole.Client when me != null => $"the Peer item \"{me.ItemSpec}\"{Where(me)} makes this machine a remote peer of the master, so it is a client",
            ScheduleRole.Client => $"no Peer item is visible on this machine (BackupPeer \"{thisPeer}\"), so it is a client",
            ScheduleRole.Master => $"there are Peer items for other machines ({string.Join(", ", all.Where(p => !string.Equals(p.ItemSpec, thisPeer, StringComparison.OrdinalIgnoreCase)).Select(p => p.ItemSpec).Take(5))}) and none marks this machine (BackupPeer \"{thisPeer}\") as remote, so it is a master",
            _ => $"the only Peer item is this machine (\"{me?.ItemSpec ?? thisPeer}\"{(me == null ? "" : Where(me))}), so it is a pool of one",
        };
    }

    private static string Where(ITaskItem item)
    {
        var file = item.GetMetadata("DefiningProjectFullPath");
        return string.IsNullOrEmpty(file) ? "" : " in " + file;
    }

    public static ScheduleRole? ParseRole(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "client" => ScheduleRole.Client,
        "master" => ScheduleRole.Master,
        "pool" or "single" or "all" => ScheduleRole.Pool,
        _ => null,
    };

    /// <summary>"HH:MM" as cron's "MM HH * * *", or five cron fields as they are; null when it is neither.</summary>
    public static string? ParseTime(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim();
        var hm = Regex.Match(t, @"^([0-9]{1,2}):([0-9]{2})$");
        if (hm.Success)
        {
            var h = int.Parse(hm.Groups[1].Value, CultureInfo.InvariantCulture);
            var m = int.Parse(hm.Groups[2].Value, CultureInfo.InvariantCulture);
            return h < 24 && m < 60 ? $"{m:00} {h:00} * * *" : null;
        }
        var fields = t.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length == 5 && fields.All(f => CronField.IsMatch(f)) ? string.Join(' ', fields) : null;
    }

    public static bool IsValidCronFileName(string path) => CronFileName.IsMatch(Path.GetFileName(path));

    /// <summary>The entries of a role, in the order they run in a day.</summary>
    public static List<CronEntry> Entries(ScheduleRole role, bool collectsHere, IReadOnlyDictionary<string, string> times,
        bool requestClient, bool requestServer, string requestsEvery)
    {
        var entries = new List<CronEntry>();
        switch (role)
        {
            case ScheduleRole.Pool:
                entries.Add(new(times["All"], "All"));
                break;
            case ScheduleRole.Client:
                entries.Add(new(times["Collect"], "Collect"));
                entries.Add(new(times["Purge"], "Purge"));
                break;
            case ScheduleRole.Master:
                if (collectsHere) entries.Add(new(times["Collect"], "Collect"));
                entries.Add(new(times["Stage"], "Stage"));
                entries.Add(new(times["Store"], "Store"));
                entries.Add(new(times["Purge"], "Purge"));
                break;
        }
        // The report and the check of the media follow the night's work on the machine that holds the media.
        if (role != ScheduleRole.Client)
        {
            if (times.TryGetValue("Report", out var report) && report.Length > 0) entries.Add(new(report, "Report"));
            if (times.TryGetValue("Verify", out var verify) && verify.Length > 0) entries.Add(new(verify, "Verify"));
        }
        if (requestClient)
        {
            if (times.TryGetValue("RequestAll", out var all) && all.Length > 0) entries.Add(new(all, "RequestAll", true));
            entries.Add(new(requestsEvery, "SendRequests", true));
        }
        if (requestServer)
        {
            entries.Add(new(requestsEvery, "ProcessRequests", true));
            if (times.TryGetValue("RequestSummary", out var summary) && summary.Length > 0) entries.Add(new(summary, "RequestSummary", true));
        }
        return entries;
    }

    /// <summary>
    /// The file's text: a header, the environment every run needs, one line per entry. Request-queue entries run as
    /// <paramref name="requestUser"/> (when given) with <paramref name="requestArguments"/> added (their own run log);
    /// the configuration pull comes only in the lines of <paramref name="user"/>, who owns the checkout.
    /// </summary>
    public static string Render(ScheduleRole role, IEnumerable<CronEntry> entries, string user, string projectPath,
        string dotnet, string extraArguments, bool updateRepository = false, string? requestUser = null,
        IReadOnlyList<string>? requestArguments = null, string? requestDotnetHome = null)
    {
        var project = Path.GetFullPath(projectPath);
        var dir = Path.GetDirectoryName(project)!;
        var sb = new StringBuilder();
        sb.Append("# BackupBuild schedule for a ").Append(role switch
        {
            ScheduleRole.Pool => "pool of one",
            ScheduleRole.Master => "master",
            _ => "client",
        }).Append(". Written by `dotnet msbuild ").Append(Path.GetFileName(project))
          .Append(" -t:InstallSchedule`; edit the Schedule* properties, not this file.\n");
        sb.Append("SHELL=/bin/sh\n");
        sb.Append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
        sb.Append("MSBUILDDISABLENODEREUSE=1\n");
        sb.Append("DOTNET_CLI_USE_MSBUILD_SERVER=0\n");
        sb.Append("DOTNET_CLI_TELEMETRY_OPTOUT=1\n");
        sb.Append("DOTNET_NOLOGO=1\n");
        foreach (var e in entries)
        {
            var lineUser = e.Request && !string.IsNullOrEmpty(requestUser) ? requestUser : user;
            var command = (updateRepository && lineUser == user
                    ? "git -C " + ShellQuote(dir) + " pull --ff-only --quiet || echo 'BackupBuild: git pull failed; this run uses the configuration as it is' >&2; "
                    : "")
                + "cd " + ShellQuote(dir) + " && "
                // dotnet writes its first-run files into DOTNET_CLI_HOME/.dotnet (else HOME, which a system account may not write).
                + (e.Request && !string.IsNullOrEmpty(requestDotnetHome) ? "DOTNET_CLI_HOME=" + ShellQuote(requestDotnetHome) + " " : "")
                + ShellQuote(dotnet) + " msbuild " + ShellQuote(project)
                + " -t:" + e.Targets + " -nologo -v:m -tl:off"
                + string.Concat((SplitArguments(extraArguments) ?? []).Select(a => " " + ShellQuote(a)))
                + (e.Request ? string.Concat((requestArguments ?? []).Select(a => " " + ShellQuote(a))) : "");
            // cron turns an unescaped % into a newline.
            sb.Append(e.When).Append(' ').Append(lineUser).Append(' ').Append(command.Replace("%", "\\%")).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// ScheduleArguments as words: split at white space outside double or single quotes (the quotes are removed), so
    /// each argument reaches msbuild whole once it is quoted for /bin/sh (a `;` in `-flp:logfile=…;append=true`
    /// would otherwise end the cron command).
    /// </summary>
    public static List<string>? SplitArguments(string? text)
    {
        var words = new List<string>();
        if (string.IsNullOrWhiteSpace(text)) return words;
        var current = new StringBuilder();
        var inWord = false;
        char quote = '\0';
        foreach (var c in text)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
                continue;
            }
            if (c is '"' or '\'') { quote = c; inWord = true; continue; }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(current.ToString()); current.Clear(); inWord = false; }
                continue;
            }
            current.Append(c);
            inWord = true;
        }
        if (quote != '\0') return null;
        if (inWord) words.Add(current.ToString());
        return words;
    }

    /// <summary>Single-quoted for /bin/sh when it holds anything but safe characters.</summary>
    public static string ShellQuote(string s) =>
        Regex.IsMatch(s, @"^[A-Za-z0-9_./:@+=-]+$") ? s : "'" + s.Replace("'", "'\\''") + "'";
}
