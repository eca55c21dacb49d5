using System.Security.Cryptography;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Requests;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Security;

/// <summary>
/// Issue 15, class 9: backed-up secrets readable by every local user. A pool (a local peer, an rsync peer and an
/// scp peer whose collect dirs are 0644/0755 like a Cedar client's) runs through the real `dotnet msbuild` under a
/// wide umask; then every file and folder BackupBuild wrote is checked on disk, and the unprivileged user `nobody`
/// tries to read the staged /etc/shadow lines.
/// </summary>
public class PermissionTests : IClassFixture<SshServer>
{
    private const string Secret = "root:$6$PermissionTestSecret$:19000:0:99999:7:::";
    private const uint Others = 0x7, GroupAndOthers = 0x3F;
    private readonly SshServer _ssh;

    public PermissionTests(SshServer ssh) => _ssh = ssh;

    /// <summary>A test folder every user can enter (0755), so only BackupBuild's own modes stand between nobody and the data.</summary>
    private static TempDir OpenTempDir()
    {
        var t = new TempDir();
        Chmod("755", t.Path);
        return t;
    }

    /// <summary>A source tree as an ordinary system has it: world-readable files (a copy of /etc/shadow lines among them).</summary>
    private static string Source(TempDir t, string name)
    {
        var dir = t.Dir(name);
        File.WriteAllText(Path.Combine(dir, "shadow"), Secret + "\n");
        File.WriteAllText(Path.Combine(dir, "hosts"), "127.0.0.1 localhost\n");
        Chmod("-R", "u=rwX,go=rX", dir);
        return dir;
    }

    /// <summary>A remote peer's ready collect dir with the modes Cedar Backup (umask 022) leaves: 0644 archives in a 0755 folder.</summary>
    private static string RemoteCollectDir(TempDir t, string name)
    {
        var dir = t.Dir("peers/" + name + "/collect");
        File.WriteAllText(Path.Combine(dir, "etc-" + name + ".tar"), Secret + "\n");
        File.WriteAllText(Path.Combine(dir, "cback.collect"), "");
        Chmod("-R", "u=rwX,go=rX", t["peers"]);
        return dir;
    }

    private BackupProject Pool(TempDir t)
    {
        var src = Source(t, "src/etc");
        var incr = Source(t, "src/incr");
        return new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("Peer", "web", _ssh.PeerMetadata(RemoteCollectDir(t, "web")))
            .Item("Peer", "db", _ssh.PeerMetadata(RemoteCollectDir(t, "db"), ("RemoteCopy", "scp -O")))
            .Item("CollectDirectory", src, ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", incr, ("CollectMode", "incr"), ("ArchiveMode", "tar"))
            .Item("PurgeDirectory", t["var/staging"], ("RetainDays", "30"));
    }

    [Theory]
    [InlineData("022")]
    [InlineData("000")]
    public void Everything_a_run_writes_is_owner_only_whatever_the_umask_and_nobody_reads_the_staged_secrets(string umask)
    {
        Tool.Require("runuser");
        using var t = OpenTempDir();
        var p = Pool(t);
        p.Umask = umask;
        var run = p.Run("Collect;Stage;Store;Purge", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var day = Path.Combine(p.StagingDir, "2026/11/24");
        var staged = Directory.GetFiles(day, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("cback.stage")).ToList();
        // The local archive, the rsync copy and the scp copy: each with the secret in it.
        Assert.True(staged.Count(f => f.Contains("/master/") && f.EndsWith(".tar.gz")) == 1, string.Join("\n", staged));
        Assert.True(File.Exists(Path.Combine(day, "web/etc-web.tar")) && File.Exists(Path.Combine(day, "db/etc-db.tar")), string.Join("\n", staged));
        var image = Path.Combine(p.Root, "media/backup.iso");
        var log = t["logs/backupbuild.log"];
        Assert.True(File.Exists(image) && File.Exists(log));
        Assert.True(Directory.GetFiles(p.WorkingDir, "*.state").Length == 1, "no incremental state in " + p.WorkingDir);

        // Every file and folder BackupBuild wrote: files 0600 (the run log: its BackupLogMode, 0640), folders 0700 or
        // 0750 (the roots it created), nothing for others anywhere.
        var written = Walk(p.Root).Concat(Walk(t["logs"])).ToList();
        Assert.True(written.Count > 20, string.Join("\n", written.Select(w => w.Path)));
        var wrong = new List<string>();
        foreach (var (path, stat) in written)
        {
            var mode = stat.Permissions;
            var ok = stat.IsDirectory ? mode is 0x1C0 or 0x1E8
                : path == log ? mode == 0x1A0
                : mode == 0x180;
            if (!ok) wrong.Add($"{Convert.ToString(mode, 8)} {path}");
        }
        Assert.True(wrong.Count == 0, $"umask {umask}: not owner-only:\n" + string.Join("\n", wrong));
        // The roots it created follow docs/deploy.md (0750).
        foreach (var root in new[] { p.Root, p.CollectDir, p.WorkingDir, p.StagingDir, Path.Combine(p.Root, "media"), t["logs"] })
            Assert.Equal("750", Mode(root));

        // The attack: an unprivileged local user reads what was staged. The same user reads a 0644 file beside it,
        // so only BackupBuild's modes stop it.
        var control = RunAs("nobody", "cat", t["src/etc/shadow"]);
        Assert.True(control.ExitCode == 0 && control.Output.Contains(Secret), "control: " + control.All);
        foreach (var file in staged.Append(image).Append(Directory.GetFiles(p.CollectDir, "*.tar.gz").Single()))
        {
            var read = RunAs("nobody", "cat", file);
            Assert.True(read.ExitCode != 0, $"nobody read {file}: {read.All}");
            Assert.DoesNotContain("PermissionTestSecret", read.Output);
        }
        foreach (var folder in new[] { p.StagingDir, day, Path.Combine(day, "master"), Path.Combine(day, "web"), p.CollectDir, p.WorkingDir })
        {
            var list = RunAs("nobody", "ls", "-la", folder);
            Assert.True(list.ExitCode != 0, $"nobody listed {folder}: {list.All}");
        }
        Assert.True(RunAs("nobody", "cat", log).ExitCode != 0, "nobody read the run log");
    }

    [Fact]
    public void With_BackupGroup_the_group_reads_what_was_written_and_others_nothing()
    {
        Tool.Require("runuser");
        using var t = OpenTempDir();
        // As docs/deploy.md sets it up: the backup root belongs to the backup group, 0750.
        Assert.Equal(0, Tool.Run("install", "-d", "-g", "backup", "-m", "0750", t["var"]).ExitCode);
        var p = Pool(t).Property("BackupGroup", "backup");
        p.Umask = "022";
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var day = Path.Combine(p.StagingDir, "2026/11/24");
        var image = Path.Combine(p.Root, "media/backup.iso");
        var wrong = new List<string>();
        foreach (var (path, stat) in Walk(p.Root))
        {
            if ((stat.Permissions & Others) != 0) wrong.Add($"{Convert.ToString(stat.Permissions, 8)} {path} (others)");
            var given = path.StartsWith(day, StringComparison.Ordinal) || path.StartsWith(p.CollectDir, StringComparison.Ordinal) || path == image;
            if (!given) continue;
            var expected = stat.IsDirectory ? 0x1E8u : 0x1A0u; // 0750 / 0640
            if (stat.Permissions != expected || Posix.GroupName(stat.Gid) != "backup")
                wrong.Add($"{Convert.ToString(stat.Permissions, 8)} {Posix.GroupName(stat.Gid)} {path}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        // Folders it created below the backup root carry the group down (the way to the staged day and the image).
        foreach (var folder in new[] { p.StagingDir, Path.Combine(p.StagingDir, "2026"), Path.Combine(p.StagingDir, "2026/11"), Path.Combine(p.Root, "media") })
            Assert.Equal("750 backup", Mode(folder) + " " + Posix.GroupName(Posix.LStat(folder, out _)!.Value.Gid));

        var archive = Directory.GetFiles(Path.Combine(day, "master"), "*.tar.gz").Single();
        foreach (var file in new[] { archive, Path.Combine(day, "web/etc-web.tar"), Path.Combine(day, "db/etc-db.tar"), image })
        {
            var asGroup = RunAs("backup", "sha256sum", file);
            Assert.True(asGroup.ExitCode == 0, $"the backup group cannot read {file}: {asGroup.All}");
            Assert.StartsWith(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant(), asGroup.Output);
            var asOther = RunAs("nobody", "cat", file);
            Assert.True(asOther.ExitCode != 0, $"nobody read {file}: {asOther.All}");
        }
    }

    [Fact]
    public void The_request_queue_stores_and_mirrors_are_owner_only()
    {
        using var pool = new RequestPool();
        pool.MakeSources();
        Chmod("-R", "go+rX", pool.Src()); // a client's web root: world-readable, as usual
        pool.Client.Umask = pool.Server.Umask = "022";
        RequestPool.Ok(pool.Client.Run("RequestAll"));
        RequestPool.Ok(pool.Client.Run("SendRequests"));
        RequestPool.Ok(pool.Server.Run("ProcessRequests"));
        Assert.True(File.Exists(pool.Data + "rsync" + pool.Src("www/index.html")), "nothing mirrored");

        // The request roots are 0750 (0700 when the gate's first push made the server's); folders in them 0700 or 0750 (the
        // queue of each server), files nothing for group or others: request records, the control repository the gate keeps,
        // the mirrors (git's objects are 0400).
        var wrong = new List<string>();
        foreach (var root in new[] { pool.ServerRoot, pool.Dir["web1/requests"] + "/" })
        {
            Assert.Contains(Mode(root), new[] { "700", "750" });
            foreach (var (path, stat) in Walk(root).Where(w => w.Path != root.TrimEnd('/')))
                if (stat.IsDirectory ? stat.Permissions is not (0x1C0 or 0x1E8) : (stat.Permissions & GroupAndOthers) != 0)
                    wrong.Add($"{Convert.ToString(stat.Permissions, 8)} {path}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Validate_names_an_existing_root_other_users_can_enter_and_leaves_its_mode()
    {
        using var t = OpenTempDir();
        Source(t, "src/etc");
        var staging = t.Dir("var/staging");
        Chmod("755", staging);
        Chmod("750", t["var"]);
        var p = new BackupProject(t.Path).Item("CollectDirectory", t["src/etc"]);
        var run = p.Run("Validate");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("warning BKP1700", run.Output);
        Assert.Contains(staging, run.Output);
        Assert.DoesNotContain(t["var"] + "\"", run.Output); // 0750: not named
        Assert.Equal("755", Mode(staging));
    }

    private static List<(string Path, PosixStat Stat)> Walk(string root)
    {
        var result = new List<(string, PosixStat)>();
        var top = root.TrimEnd('/');
        result.Add((top, Posix.LStat(top, out _)!.Value));
        foreach (var path in Directory.EnumerateFileSystemEntries(top, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var stat = Posix.LStat(path, out _)!.Value;
            if (!stat.IsSymlink) result.Add((path, stat));
        }
        return result;
    }

    private static string Mode(string path) => Convert.ToString(Posix.LStat(path.TrimEnd('/'), out _)!.Value.Permissions, 8);

    private static Tool.Result RunAs(string user, params string[] command) =>
        Tool.Run("runuser", new[] { "-u", user, "--" }.Concat(command).ToArray());

    private static void Chmod(params string[] args)
    {
        var r = Tool.Run("chmod", args);
        Assert.True(r.ExitCode == 0, r.All);
    }
}
