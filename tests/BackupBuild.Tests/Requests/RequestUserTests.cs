using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Requests.RequestPool;

namespace BackupBuild.Tests.Requests;

/// <summary>
/// The request queue's user model (docs/request-queue.md, "Who runs it"): InstallSchedule writes the request-queue lines
/// for ScheduleRequestUser, gives it RequestRoot and its own run log, and the lines work when run as cron runs them.
/// </summary>
[Collection("RequestQueue")]
public class RequestUserTests
{
    private const string RequestUser = "backup";

    [Fact]
    public void The_cron_lines_InstallSchedule_writes_run_as_the_request_user_with_the_files_environment_and_the_server_pulls_what_they_sent()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        // Readable by the request user whatever umask this test process had when they were made (tasks of parallel
        // tests set 077 in-process while they run; git and sqlite3 inherit it).
        var readable = Tool.Run("chmod", "-R", "a+rX", pool.Dir["web1/src"]);
        Assert.True(readable.ExitCode == 0, readable.All);
        var uid = Ownership.UserId(RequestUser)!.Value;
        // What the request user reads: the project, the sources, its key and known_hosts (as ~backup/.ssh would hold them).
        foreach (var d in new[] { pool.Dir.Path, pool.Dir["web1"], pool.Dir["web1/project"], pool.Dir.Dir("web1/log"), Path.GetDirectoryName(pool.Web1Key)! })
            File.SetUnixFileMode(d, (UnixFileMode)Convert.ToInt32("755", 8));
        Assert.Null(Ownership.Change(pool.Web1Key, uid, Ownership.Unchanged));
        File.SetUnixFileMode(pool.Ssh.KnownHosts, (UnixFileMode)Convert.ToInt32("644", 8));
        for (var d = Path.GetDirectoryName(pool.Ssh.KnownHosts); d != null && d != "/"; d = Path.GetDirectoryName(d))
            File.SetUnixFileMode(d, File.GetUnixFileMode(d) | UnixFileMode.OtherExecute);
        // Stage's key settings are not the queue's: they name files that do not exist here.
        pool.Client.Property("SshIdentityFile", "/nonexistent/stage-key").Property("SshKnownHostsFile", "/nonexistent/stage_known_hosts")
            .Property("BackupLogFile", pool.Dir["web1/log/backupbuild.log"]).Property("BackupLogGroup", "adm")
            .Property("ScheduleFile", pool.Dir["web1/cron.d/backupbuild"]);

        Ok(pool.Client.Run("InstallSchedule"));
        var cron = File.ReadAllText(pool.Dir["web1/cron.d/backupbuild"]);
        var lines = CronLines(cron);
        Assert.Equal("root", lines.Single(l => l.Command.Contains("-t:Collect ")).User);
        var requestAll = lines.Single(l => l.Command.Contains("-t:RequestAll "));
        var send = lines.Single(l => l.Command.Contains("-t:SendRequests "));
        Assert.Equal(RequestUser, requestAll.User);
        Assert.Equal(RequestUser, send.User);
        var requestLog = pool.Dir["web1/log/backupbuild-requests.log"];
        Assert.Contains("-p:BackupLogFile=" + requestLog, send.Command);
        // RequestRoot and the request log belong to the request user before its first run.
        Assert.Equal(uid, Posix.LStat(pool.Dir["web1/requests"], out _)!.Value.Uid);
        var log = Posix.LStat(requestLog, out _)!.Value;
        Assert.Equal(uid, log.Uid);
        Assert.Equal(Ownership.GroupId("adm"), log.Gid);
        Assert.Equal(Convert.ToUInt32("640", 8), log.Permissions);

        var queued = RunAsCron(cron, requestAll);
        Ok(queued);
        Assert.DoesNotContain("Welcome to .NET", queued.All);
        Assert.DoesNotContain("BKP", queued.All);
        var sent = RunAsCron(cron, send);
        Ok(sent);
        Assert.Contains("3 request(s) delivered to backup1", sent.Output);
        Assert.DoesNotContain("BKP", sent.All);
        // The prepared archive waits in an outgoing folder the request user owns (the account the server's sftp uses).
        var outgoing = pool.Dir["web1/requests/outgoing/backup1"];
        Assert.Equal(uid, Posix.LStat(outgoing, out _)!.Value.Uid);
        Assert.All(Directory.GetFiles(outgoing), f => Assert.Equal(uid, Posix.LStat(f, out _)!.Value.Uid));
        Assert.All(Directory.EnumerateFileSystemEntries(pool.Dir["web1/requests"], "*", SearchOption.AllDirectories),
            f => Assert.Equal(uid, Posix.LStat(f, out _)!.Value.Uid));

        Ok(pool.Server.Run("ProcessRequests"));
        Assert.Equal(Tree(pool.Src("www")), Tree(pool.Data + "rsync" + pool.Src("www")));
        Assert.Single(Directory.GetFiles(pool.Data + "sftp/objects"));
        Assert.Empty(Directory.GetFiles(outgoing));
        Ok(RunAsCron(cron, send));
        Assert.Empty(pool.PoolFiles);
        var logText = File.ReadAllText(requestLog);
        Assert.Contains("RequestAll: succeeded", logText);
        Assert.Contains("SendRequests: succeeded", logText);
        Assert.Equal(uid, Posix.LStat(requestLog, out _)!.Value.Uid);
    }

    [Fact]
    public void A_missing_request_user_is_BKP7100_and_no_schedule_is_written()
    {
        using var pool = new RequestPool();
        var file = pool.Dir["web1/cron.d/backupbuild"];
        var r = pool.Client.Run("InstallSchedule", "ScheduleFile=" + file, "ScheduleRequestUser=no-such-user-bkp");
        Fails(r, "BKP7100");
        Assert.False(File.Exists(file));
    }

    public sealed record CronLine(string When, string User, string Command);

    /// <summary>The entries of a cron.d file: five time fields, the user, the command (cron's \% is a %).</summary>
    public static List<CronLine> CronLines(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#') && !System.Text.RegularExpressions.Regex.IsMatch(l, "^[A-Z_]+="))
            .Select(l =>
            {
                var f = l.Split(' ', 7, StringSplitOptions.RemoveEmptyEntries);
                return new CronLine(string.Join(' ', f[..5]), f[5], f[6].Replace("\\%", "%"));
            }).ToList();

    /// <summary>Runs one line as cron does: as its user, with the file's environment lines, HOME and LOGNAME from passwd, through SHELL -c.</summary>
    public static Tool.Result RunAsCron(string cronText, CronLine line)
    {
        var env = cronText.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^[A-Z_]+=")).ToList();
        var home = Tool.Run("getent", "passwd", line.User).Output.Trim().Split(':')[5];
        var args = new List<string> { "--reuid=" + line.User, "--regid=" + Tool.Run("id", "-g", line.User).Output.Trim(), "--init-groups",
            "env", "-i", "HOME=" + home, "LOGNAME=" + line.User, "USER=" + line.User };
        args.AddRange(env);
        args.AddRange(new[] { "/bin/sh", "-c", line.Command });
        return Tool.RunWith("/", null, TimeSpan.FromMinutes(10), "setpriv", args.ToArray());
    }
}
