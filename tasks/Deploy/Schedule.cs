using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>The machine's part in the pool, which decides its cron entries.</summary>
public enum ScheduleRole { Client, Master, Pool }

/// <summary>One cron line: when (five fields) and the targets it runs.</summary>
public sealed record CronEntry(string When, string Targets);

/// <summary>
/// What /etc/cron.d/backupbuild holds for this machine: Cedar's suggested schedules (client: collect, purge; master:
/// collect its own data, stage, store, purge; pool of one: all) and the request queue's entries when configured.
/// </summary>
public static class Schedule
{
    private static readonly Regex CronFileName = new("^[A-Za-z0-9_-]+$");
    private static readonly Regex CronField = new(@"^[0-9*/,\-A-Za-z]+$");

    /// <summary>
    /// pool: the only Peer is this machine; master: there are Peer items for other machines; client: anything else.
    /// </summary>
    public static ScheduleRole DetectRole(IEnumerable<ITaskItem> peers, string thisPeer)
    {
        var all = peers.ToList();
        var others = all.Where(p => !string.Equals(p.ItemSpec, thisPeer, StringComparison.OrdinalIgnoreCase)).ToList();
        if (others.Count > 0) return ScheduleRole.Master;
        return all.Count > 0 ? ScheduleRole.Pool : ScheduleRole.Client;
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
        if (requestClient) entries.Add(new(requestsEvery, "SendRequests"));
        if (requestServer) entries.Add(new(requestsEvery, "ProcessRequests"));
        return entries;
    }

    /// <summary>The file's text: a header, the environment every run needs, one line per entry.</summary>
    public static string Render(ScheduleRole role, IEnumerable<CronEntry> entries, string user, string projectPath,
        string dotnet, string extraArguments, bool updateRepository = false)
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
            var command = (updateRepository
                    ? "git -C " + ShellQuote(dir) + " pull --ff-only --quiet || echo 'BackupBuild: git pull failed; this run uses the configuration as it is' >&2; "
                    : "")
                + "cd " + ShellQuote(dir) + " && " + ShellQuote(dotnet) + " msbuild " + ShellQuote(project)
                + " -t:" + e.Targets + " -nologo -v:m -tl:off"
                + (string.IsNullOrWhiteSpace(extraArguments) ? "" : " " + extraArguments.Trim());
            // cron turns an unescaped % into a newline.
            sb.Append(e.When).Append(' ').Append(user).Append(' ').Append(command.Replace("%", "\\%")).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Single-quoted for /bin/sh when it holds anything but safe characters.</summary>
    public static string ShellQuote(string s) =>
        Regex.IsMatch(s, @"^[A-Za-z0-9_./:@+=-]+$") ? s : "'" + s.Replace("'", "'\\''") + "'";
}
