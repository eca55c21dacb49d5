using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Infrastructure;

[Trait("Tier", "Fast")]
public class OpenFlagsTests
{
    // The numbers differ between architectures (arm64: O_DIRECTORY 0x4000, O_NOFOLLOW 0x8000): a wrong one asks
    // for another flag and follows links silently. Python's os module carries this machine's own values.
    [Fact]
    public void The_open_flags_are_this_machines_own()
    {
        var python = Tool.Require("python3");
        var r = Tool.Run(python, "-c", "import os; print(os.O_DIRECTORY, os.O_NOFOLLOW, os.O_CLOEXEC)");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal($"{OpenFlags.Directory} {OpenFlags.NoFollow} {OpenFlags.CloseOnExec}", r.Output.Trim());
    }

    [Fact]
    public void A_folder_link_is_not_opened_when_links_are_not_followed()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["real"]);
        File.WriteAllText(Path.Combine(t["real"], "secret"), "secret");
        Directory.CreateSymbolicLink(t["link"], t["real"]);
        using (var real = DirectoryHandle.Open(t["real"], followLink: false, out _)) Assert.NotNull(real);
        using var link = DirectoryHandle.Open(t["link"], followLink: false, out var errno);
        Assert.Null(link);
        Assert.True(errno is 40 or 20, $"errno {errno}");   // ELOOP, or ENOTDIR
    }
}
