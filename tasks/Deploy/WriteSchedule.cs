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
    /// <summary>ScheduleRequestUser: the user the request-queue lines run as (docs/request-queue.md); empty: User.</summary>
    public string? RequestUser { get; set; }
    /// <summary>RequestLogFile: the run log of the request-queue lines, given to the request user.</summary>
    public string? RequestLogFile { get; set; }
    public string? LogGroup { get; set; }
    public string? LogMode { get; set; }
    public string? BackupLog { get; set; }
    /// <summary>RequestRoot (client) and RequestServerRoot (server): given to the request user.</summary>
    public string? RequestRoot { get; set; }
    public string? RequestServerRoot { get; set; }
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
        var requestLines = BackupServers.Length + RequestClients.Length > 0;
        var requestUser = string.IsNullOrWhiteSpace(RequestUser) ? user : RequestUser.Trim();
        if (requestLines && requestUser != user && (requestUser.Any(char.IsWhiteSpace) || Ownership.UserId(requestUser) == null))
            problems.Error("Requests.NoRequestUser", requestUser);
        var logOn = !string.Equals(BackupLog?.Trim(), "false", StringComparison.OrdinalIgnoreCase);
        string? requestLog = null;
        if (requestLines && requestUser != user && logOn)
            requestLog = Values.AbsolutePath(RequestLogFile, "RequestLogFile", problems);

        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        var collectsHere = CollectDirectories.Length + CollectFiles.Length > 0
            || Peers.Any(p => string.Equals(p.ItemSpec, ThisPeer, StringComparison.OrdinalIgnoreCase));
        var entries = Schedule.Entries(role, collectsHere, times, BackupServers.Length > 0, RequestClients.Length > 0,
            $"*/{every} * * * *");
        var requestArguments = requestLog != null ? new[] { "-p:BackupLogFile=" + requestLog } : [];
        if (requestLines && requestUser != user && !PrepareForRequestUser(requestUser, requestLog)) return false;
        var text = Schedule.Render(role, entries, user, ProjectFile,
            string.IsNullOrWhiteSpace(Dotnet) ? "dotnet" : Dotnet.Trim(), ExtraArguments ?? "", pull, requestUser, requestArguments,
            requestUser != user ? RequestUserHome() : null);
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

    /// <summary>
    /// What the request-queue lines write must belong to the user they run as: RequestRoot on a client,
    /// RequestServerRoot on a server (made when missing, owner-only, and everything in it given to that user, so a run
    /// as root by hand does not lock the cron runs out) and the request run log (made with BackupLogGroup and
    /// BackupLogMode). Needs root; warns (BKP7101) when a folder on the way cannot be entered by that user.
    /// </summary>
    private bool PrepareForRequestUser(string requestUser, string? requestLog)
    {
        var uid = Ownership.UserId(requestUser)!.Value;
        var gid = Ownership.UserGroupId(requestUser) ?? Ownership.Unchanged;
        var folders = new List<string>();
        if (BackupServers.Length > 0 && !string.IsNullOrWhiteSpace(RequestRoot)) folders.Add(RequestRoot.Trim());
        if (RequestClients.Length > 0 && !string.IsNullOrWhiteSpace(RequestServerRoot)) folders.Add(RequestServerRoot.Trim());
        var problems = new Problems();
        var logGid = string.IsNullOrWhiteSpace(LogGroup) ? gid : Ownership.GroupId(LogGroup.Trim()) ?? Ownership.Unchanged;
        var mode = Ownership.ParseMode(string.IsNullOrWhiteSpace(LogMode) ? "640" : LogMode) ?? Convert.ToUInt32("640", 8);
        try
        {
            foreach (var f in folders.Select(f => Path.GetFullPath(f).TrimEnd('/')))
            {
                PrivateFiles.CreateRoot(f);
                var failed = new List<string>();
                Ownership.ChangeTree(f, uid, Ownership.Unchanged, (p, e) => failed.Add($"{p}: {e}"));
                if (failed.Count > 0) { Log.LogErrorWithCodeFromResources("Requests.RequestUserChown", f, requestUser, failed[0]); return false; }
                CheckReachable(f, requestUser, uid, gid);
            }
            if (requestLog != null)
            {
                PrivateFiles.CreateRoot(Path.GetDirectoryName(requestLog)!);
                if (!File.Exists(requestLog))
                {
                    using (new FileStream(requestLog, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite })) { }
                    Ownership.SetMode(requestLog, mode);
                    if (Ownership.Change(requestLog, uid, logGid) is { } e)
                    { Log.LogErrorWithCodeFromResources("Requests.RequestUserChown", requestLog, requestUser, e); return false; }
                }
                else if (Posix.LStat(requestLog, out _) is { } st && st.Uid != uid && Ownership.Change(requestLog, uid, Ownership.Unchanged) is { } e)
                { Log.LogErrorWithCodeFromResources("Requests.RequestUserChown", requestLog, requestUser, e); return false; }
                CheckReachable(requestLog, requestUser, uid, gid);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogErrorWithCodeFromResources("Requests.RequestUserChown", string.Join(", ", folders.Append(requestLog ?? "")), requestUser, e.Message);
            return false;
        }
        problems.LogTo(Log);
        return true;
    }

    /// <summary>The folder given to the request user where dotnet keeps its first-run files: RequestRoot on a client, else RequestServerRoot.</summary>
    private string? RequestUserHome()
    {
        var root = BackupServers.Length > 0 ? RequestRoot : RequestServerRoot;
        return string.IsNullOrWhiteSpace(root) ? null : Path.GetFullPath(root.Trim()).TrimEnd('/');
    }

    /// <summary>Warns when a folder on the way to <paramref name="path"/> cannot be entered by the user (owner, primary group or others x bit).</summary>
    private void CheckReachable(string path, string user, uint uid, uint gid)
    {
        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (Posix.Stat(dir, out _) is not { } st) continue;
            var p = st.Permissions;
            var enters = st.Uid == uid ? (p & 0x40) != 0 : st.Gid == gid ? (p & 0x8) != 0 : (p & 0x1) != 0;
            if (enters) continue;
            Log.LogWarningWithCodeFromResources("Requests.RequestUserCannotReach", user, path, dir,
                $"{Posix.UserName(st.Uid)}:{Posix.GroupName(st.Gid)} {Convert.ToString(p, 8)}");
            return;
        }
    }
}
