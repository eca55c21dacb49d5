using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Deploy;

/// <summary>BackupUser/BackupGroup: what Collect, Stage and Store wrote is given to the backup user, as Cedar does.</summary>
public class OwnershipTests
{
    [Fact]
    public void Collected_staged_and_stored_files_belong_to_BackupUser_and_BackupGroup()
    {
        using var t = new TempDir();
        t.File("src/docs/report.txt", "quarterly report\n");
        // Only root can give files away (CI runs as root); anyone else can still name themselves.
        var user = Posix.IsRoot ? "nobody" : Environment.UserName;
        var group = Posix.IsRoot ? "nogroup" : Posix.GroupName(Posix.LStat(t.Path, out _)!.Value.Gid);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master").Property("BackupUser", user).Property("BackupGroup", group)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"));
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);

        var written = Directory.GetFileSystemEntries(p.CollectDir, "*", SearchOption.AllDirectories)
            .Concat(Directory.GetFileSystemEntries(Path.Combine(p.StagingDir, "2026/11/24"), "*", SearchOption.AllDirectories))
            .Append(Path.Combine(p.StagingDir, "2026/11/24"))
            .Append(Path.Combine(p.Root, "media/backup.iso")).ToList();
        Assert.True(written.Count > 5, string.Join("\n", written));
        foreach (var path in written)
        {
            var stat = Posix.LStat(path, out _)!.Value;
            Assert.True(Posix.UserName(stat.Uid) == user && Posix.GroupName(stat.Gid) == group,
                $"{path} is {Posix.UserName(stat.Uid)}:{Posix.GroupName(stat.Gid)}");
        }
    }

    [Fact]
    public void A_day_where_one_peer_failed_still_belongs_to_BackupUser()
    {
        using var t = new TempDir();
        t.File("src/docs/report.txt", "quarterly report\n");
        Directory.CreateDirectory(t["var/late"]);          // a peer that has not collected: Stage fails for it
        var user = Posix.IsRoot ? "nobody" : Environment.UserName;
        var group = Posix.IsRoot ? "nogroup" : Posix.GroupName(Posix.LStat(t.Path, out _)!.Value.Gid);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master").Property("BackupUser", user).Property("BackupGroup", group)
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("Peer", "late", ("Type", "local"), ("CollectDir", t["var/late"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"), ("ArchiveMode", "targz"));
        var run = p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("late", run.Output);

        var day = Path.Combine(p.StagingDir, "2026/11/24");
        var written = Directory.GetFileSystemEntries(day, "*", SearchOption.AllDirectories).Append(day).ToList();
        Assert.Contains(written, f => f.EndsWith(".tar.gz"));
        foreach (var path in written)
        {
            var stat = Posix.LStat(path, out _)!.Value;
            Assert.True(Posix.UserName(stat.Uid) == user && Posix.GroupName(stat.Gid) == group,
                $"{path} is {Posix.UserName(stat.Uid)}:{Posix.GroupName(stat.Gid)}");
        }
    }

    [Fact]
    public void An_unknown_backup_user_is_a_coded_error()
    {
        using var t = new TempDir();
        t.File("src/docs/report.txt", "x\n");
        var p = new BackupProject(t.Path)
            .Property("BackupUser", "no-such-user-bkp")
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"));
        var run = p.Run("Collect", "BackupRunDate=2026-11-24T01:00");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("error BKP9024", run.Output);
        Assert.Contains("no-such-user-bkp", run.Output);
    }
}
