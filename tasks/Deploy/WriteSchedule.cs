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
    [Required] public string ProjectFile { get; set; } = "";
    /// <summary>@(BackupScheduleSettings): the file, the user, dotnet, the arguments, the times (Settings/ScheduleSettings).</summary>
    public ITaskItem? ScheduleSettings { get; set; }
    /// <summary>RequestLogFile: the run log of the request-queue lines, given to the request user.</summary>
    public string? RequestLogFile { get; set; }
    /// <summary>@(BackupLogSettings): the group and mode the request log is created with (Settings/LogSettings).</summary>
    public ITaskItem? LogSettings { get; set; }
    public string? BackupLog { get; set; }
    /// <summary>RequestRoot (client) and RequestServerRoot (server): given to the request user.</summary>
    public string? RequestRoot { get; set; }
    public string? RequestServerRoot { get; set; }
    public bool Remove { get; set; }

    /// <summary>The role the entries were written for: client, master or pool.</summary>
    [Output] public string DetectedRole { get; set; } = "";

    protected override bool Run()
    {
        var problems = new Problems();
        if (Remove)
        {
            var cronFile = Settings.ScheduleSettings.ParseFile(ScheduleSettings, problems);
            problems.LogTo(Log);
            if (problems.HasErrors) return false;
            if (File.Exists(cronFile)) { File.Delete(cronFile!); Progress("Deploy.ScheduleRemoved", cronFile!); }
            else Detail("Deploy.ScheduleAbsent", cronFile!);
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

        var requestLines = BackupServers.Length + RequestClients.Length > 0;
        var settings = Settings.ScheduleSettings.Parse(ScheduleSettings, problems, requestLines);
        var user = settings?.User ?? "";
        var requestUser = settings?.RequestUser ?? "";
        var logOn = !string.Equals(BackupLog?.Trim(), "false", StringComparison.OrdinalIgnoreCase);
        string? requestLog = null;
        Settings.LogSettings? log = null;
        if (settings != null && requestLines && requestUser != user && logOn)
        {
            requestLog = Values.AbsolutePath(RequestLogFile, "RequestLogFile", problems);
            log = Settings.LogSettings.Parse(LogSettings, problems);
        }

        problems.LogTo(Log);
        if (problems.HasErrors) return false;

        var collectsHere = CollectDirectories.Length + CollectFiles.Length > 0
            || Peers.Any(p => string.Equals(p.ItemSpec, ThisPeer, StringComparison.OrdinalIgnoreCase));
        var file = settings!.File;
        var entries = Schedule.Entries(role, collectsHere, settings.When, BackupServers.Length > 0, RequestClients.Length > 0,
            $"*/{settings.RequestsEveryMinutes} * * * *");
        var requestArguments = requestLog != null ? new[] { "-p:BackupLogFile=" + requestLog } : [];
        if (requestLines && requestUser != user && !PrepareForRequestUser(requestUser, requestLog, log)) return false;
        var text = Schedule.Render(role, entries, user, ProjectFile, settings.Dotnet, settings.ArgumentsText, settings.GitPull, requestUser, requestArguments,
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
    private bool PrepareForRequestUser(string requestUser, string? requestLog, Settings.LogSettings? log)
    {
        var uid = Ownership.UserId(requestUser)!.Value;
        var gid = Ownership.UserGroupId(requestUser) ?? Ownership.Unchanged;
        var folders = new List<string>();
        if (BackupServers.Length > 0 && !string.IsNullOrWhiteSpace(RequestRoot)) folders.Add(RequestRoot.Trim());
        if (RequestClients.Length > 0 && !string.IsNullOrWhiteSpace(RequestServerRoot)) folders.Add(RequestServerRoot.Trim());
        var problems = new Problems();
        // Parsed with the request log (Run): its group, else the request user's; its mode.
        var logGid = log is { GroupGiven: true } ? log.Group : gid;
        var mode = log?.Mode ?? 0;
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
