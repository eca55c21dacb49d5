using System.Text;
using BackupBuild.Tasks.Infrastructure;
using Microsoft.Build.Framework;

namespace BackupBuild.Tasks.Deploy;

/// <summary>
/// Writes this machine's cron entries (its role's actions, at the Schedule* times) into ScheduleFile, atomically
/// and only when the text changed: a second run leaves the file untouched. With Remove=true deletes the file.
/// </summary>
public sealed class WriteSchedule : BackupTask
{
    public ITaskItem[] Peers { get; set; } = [];
    public ITaskItem[] CollectDirectories { get; set; } = [];
    public ITaskItem[] CollectFiles { get; set; } = [];
    public ITaskItem[] BackupServers { get; set; } = [];
    public ITaskItem[] RequestClients { get; set; } = [];
    public string? ThisPeer { get; set; }
    public string? Role { get; set; }
    [Required] public string ScheduleFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public string? User { get; set; }
    public string? Dotnet { get; set; }
    public string? ExtraArguments { get; set; }
    public string? CollectTime { get; set; }
    public string? StageTime { get; set; }
    public string? StoreTime { get; set; }
    public string? PurgeTime { get; set; }
    public string? AllTime { get; set; }
    public string? RequestSummaryTime { get; set; }
    /// <summary>ScheduleReportTime: Report on a master or pool of one; empty: no line.</summary>
    public string? ReportTime { get; set; }
    /// <summary>ScheduleVerifyTime: Verify on a master or pool of one; empty: no line.</summary>
    public string? VerifyTime { get; set; }
    /// <summary>ScheduleRequestAllTime: RequestAll on a request-queue client; empty: no line.</summary>
    public string? RequestAllTime { get; set; }
    public string? RequestsEvery { get; set; }
    public bool Remove { get; set; }
    /// <summary>ScheduleGitPull: each entry first updates the configuration checkout (git pull --ff-only).</summary>
    public string? UpdateRepository { get; set; }

    /// <summary>The role the entries were written for: client, master or pool.</summary>
    [Output] public string DetectedRole { get; set; } = "";

    protected override bool Run()
    {
        var problems = new Problems();
        var file = Values.AbsolutePath(ScheduleFile, "ScheduleFile", problems);
        if (file != null && !Schedule.IsValidCronFileName(file))
            problems.Error("Deploy.ScheduleFileName", file);
        if (Remove)
        {
            problems.LogTo(Log);
            if (problems.HasErrors) return false;
            if (File.Exists(file)) { File.Delete(file!); Progress("Deploy.ScheduleRemoved", file!); }
            else Detail("Deploy.ScheduleAbsent", file!);
            return true;
        }

        ScheduleRole role;
        if (string.IsNullOrWhiteSpace(Role)) role = Schedule.DetectRole(Peers, ThisPeer ?? "");
        else if (Schedule.ParseRole(Role) is { } r)
        {
            role = r;
            if (Schedule.RoleDisagreement(r, Peers, ThisPeer ?? "") is { } why) problems.Warning("Deploy.RoleDisagrees", Role.Trim(), why);
        }
        else { problems.Error("Deploy.BadRole", Role); role = ScheduleRole.Client; }

        var times = new Dictionary<string, string>();
        foreach (var (name, property, value) in new[]
                 {
                     ("Collect", "ScheduleCollectTime", CollectTime), ("Stage", "ScheduleStageTime", StageTime),
                     ("Store", "ScheduleStoreTime", StoreTime), ("Purge", "SchedulePurgeTime", PurgeTime),
                     ("All", "ScheduleAllTime", AllTime), ("RequestSummary", "ScheduleRequestSummaryTime", RequestSummaryTime),
                     ("Report", "ScheduleReportTime", ReportTime), ("Verify", "ScheduleVerifyTime", VerifyTime),
                     ("RequestAll", "ScheduleRequestAllTime", RequestAllTime),
                 })
        {
            // Empty: no line for the optional entries.
            if (name is "RequestSummary" or "Report" or "Verify" or "RequestAll"
                && (string.IsNullOrWhiteSpace(value) || string.Equals(value.Trim(), "none", StringComparison.OrdinalIgnoreCase))) continue;
            var when = Schedule.ParseTime(value);
            if (when == null) problems.Error("Deploy.BadTime", property, value ?? "");
            times[name] = when ?? "";
        }
        var every = Values.Integer(RequestsEvery, "ScheduleRequestsEveryMinutes", problems, 5, min: 1);
        if (every > 59) problems.Error("Deploy.BadEvery", RequestsEvery ?? "");
        var pull = Values.Flag(UpdateRepository, "ScheduleGitPull", problems);
        if (Schedule.SplitArguments(ExtraArguments) == null) problems.Error("Deploy.ScheduleArgumentsQuote", ExtraArguments ?? "");
        var user = string.IsNullOrWhiteSpace(User) ? "root" : User.Trim();
        if (user.Any(char.IsWhiteSpace) || Ownership.UserId(user) == null) problems.Error("Deploy.NoSuchCronUser", user);

        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        var collectsHere = CollectDirectories.Length + CollectFiles.Length > 0
            || Peers.Any(p => string.Equals(p.ItemSpec, ThisPeer, StringComparison.OrdinalIgnoreCase));
        var entries = Schedule.Entries(role, collectsHere, times, BackupServers.Length > 0, RequestClients.Length > 0,
            $"*/{every} * * * *");
        var text = Schedule.Render(role, entries, user, ProjectFile,
            string.IsNullOrWhiteSpace(Dotnet) ? "dotnet" : Dotnet.Trim(), ExtraArguments ?? "", pull);
        DetectedRole = role.ToString().ToLowerInvariant();
        var bytes = Encoding.UTF8.GetBytes(text);

        if (File.Exists(file) && File.ReadAllBytes(file!).AsSpan().SequenceEqual(bytes))
        {
            Progress("Deploy.ScheduleUnchanged", file!, DetectedRole);
            return true;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            AtomicFile.Write(file!, s =>
            {
                s.Write(bytes);
                // cron ignores files in /etc/cron.d that group or others can write.
                Ownership.SetMode(s.Name, Convert.ToUInt32("644", 8));
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Deploy.ScheduleWriteFailed", file!, e.Message);
            return false;
        }
        Progress("Deploy.ScheduleWritten", file!, DetectedRole, string.Join(", ", entries.Select(e => e.Targets)));
        return true;
    }
}
