using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

public class SysinfoTests
{
    [Fact]
    public void Collect_writes_the_package_list_partition_table_and_listing()
    {
        Tool.Require("dpkg");
        Tool.Require("fdisk");
        using var dir = new TempDir();
        dir.File("tree/sub/marker-file.txt", "x");
        var project = new BackupProject(dir.Path)
            .Property("SysinfoEnabled", "true")
            .Property("SysinfoListingRoot", dir["tree"])
            .Item("CollectDirectory", dir.Dir("etc"));
        var r = project.Run("Collect");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Matches(@"(?m)^dpkg\s+install$", DumpFiles.Text(project.CollectDir + "dpkg-selections.txt.bz2"));
        DumpFiles.Text(project.CollectDir + "fdisk-l.txt.bz2"); // a valid bzip2 file; its content depends on the machine
        Assert.Contains("marker-file.txt", DumpFiles.Text(project.CollectDir + "ls-laR.txt.bz2"));
    }
}
