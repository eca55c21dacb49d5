using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

public class ValidateEndToEndTests
{
    [Fact]
    public void Validate_reports_every_problem_at_once_and_fails()
    {
        using var t = new TempDir();
        t.Dir("src");
        var p = new BackupProject(t.Path)
            .Property("StartingDay", "Monday")
            .Property("StoreMediaType", "floppy")
            .Item("CollectDirectory", "relative/path")
            .Item("CollectDirectory", t["src"], ("CollectMode", "hourly"), ("LinkDepth", "-1"), ("ArchiveMode", "zip"))
            .Item("CollectDirectory", t["missing"])
            .Item("CollectFile", t["src"], ("CollectMdoe", "incr"));
        var run = p.Run("Validate");
        Assert.Equal(1, run.ExitCode);
        foreach (var code in new[] { "BKP1002", "BKP1030", "BKP1020", "BKP1021", "BKP1008", "BKP1022", "BKP2101", "BKP1043" })
            Assert.Contains("error " + code, run.Output);
        Assert.Contains("warning BKP1011", run.Output);
        Assert.Contains("CollectMdoe", run.Output);
    }

    [Fact]
    public void Validate_for_another_machine_does_not_check_its_folders_on_this_disk_but_this_machine_checks_its_option_file()
    {
        using var t = new TempDir();
        // web1's folder exists on web1, not here: validating web1 from the master must not call it missing.
        var web1 = new BackupProject(t.Path)
            .Raw("<CollectDirectory Include=\"/srv/bkp-test-only-on-web1\" Condition=\"'$(BackupPeer)' == 'web1'\" />")
            .Raw($"<CollectDirectory Include=\"{t["missing-here"]}\" Condition=\"'$(BackupPeer)' != 'web1'\" />")
            .Raw("<MysqlDatabase Include=\"shop\" />")
            .Property("MysqlOptionsFile", t["no-such-my.cnf"]);
        var remote = web1.Run("Validate", "BackupPeer=web1");
        Assert.True(remote.ExitCode == 0, remote.All);
        Assert.DoesNotContain("BKP2101", remote.Output);
        Assert.DoesNotContain("BKP6010", remote.Output);
        Assert.Contains("were not checked here", remote.Output);

        // On the machine itself (BackupPeer left to its default, the host name) both are checked.
        var here = web1.Run("Validate");
        Assert.Equal(1, here.ExitCode);
        Assert.Contains("error BKP2101", here.Output);
        Assert.Contains("error BKP6010", here.Output);
        Assert.Contains(t["no-such-my.cnf"], here.Output);
    }

    [Fact]
    public void Validate_passes_a_good_configuration()
    {
        using var t = new TempDir();
        t.Dir("src");
        var p = new BackupProject(t.Path).Item("CollectDirectory", t["src"]);
        var run = p.Run("Validate");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("The configuration is valid", run.Output);
    }

    [Fact]
    public void Collect_validates_before_touching_data()
    {
        using var t = new TempDir();
        t.File("src/a.txt", "a");
        var p = new BackupProject(t.Path)
            .Item("CollectDirectory", t["src"])
            .Item("CollectDirectory", t["src"] + "/", ("ArchiveMode", "rar"));
        var run = p.Run("Collect");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP1022", run.Output);
        Assert.Contains("error BKP1027", run.Output);
        Assert.False(Directory.Exists(p.CollectDir));
    }
}
