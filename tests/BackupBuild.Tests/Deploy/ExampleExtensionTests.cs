using System.Security;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Deploy;

/// <summary>
/// The worked example of docs/extending.md (tests/ExampleExtension): a .targets file and a task in its own assembly,
/// imported by a pool's backup.proj without touching BackupBuild's files, built on first use and run by the real
/// `dotnet msbuild`, so the guide cannot rot.
/// </summary>
public class ExampleExtensionTests
{
    [Fact]
    public void The_example_extension_builds_its_own_task_assembly_and_its_files_are_collected_and_staged()
    {
        using var t = new TempDir();
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("srv/www/index.html", "<h1>hello</h1>\n");
        t.File("srv/www/img/logo.png", "PNG");
        var hooks = t["hooks.txt"];
        var extension = Path.Combine(Repo.Root, "tests/ExampleExtension/Inventory.targets");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "master")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "daily"))
            .Item("InventoryDirectory", t["srv/www"], ("Name", "www"))
            .Item("ActionHook", "inventory-after", ("Action", "CollectInventory"), ("Phase", "after"), ("Command", $"echo inventory done >> {hooks}"));
        p.Write();
        // As docs/extending.md says: one Import after BackupBuild.targets in the pool's own backup.proj.
        var xml = File.ReadAllText(p.ProjectPath).Replace("</Project>",
            $"  <Import Project=\"{SecurityElement.Escape(extension)}\" />\n</Project>");

        var run = RunWith(p, xml, "Collect;Stage");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("Inventory: wrote", run.Output);
        var listing = File.ReadAllLines(Path.Combine(p.CollectDir, "inventory-www.txt"));
        Assert.Equal(["3\timg/logo.png", "15\tindex.html"], listing);
        Assert.True(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/master/inventory-www.txt")), run.All);
        Assert.Equal(["inventory done"], File.ReadAllLines(hooks));

        // Its own errors carry its own codes, before anything is written.
        var bad = xml.Replace(SecurityElement.Escape(t["srv/www"]), SecurityElement.Escape(t["srv/missing"]));
        var failed = RunWith(p, bad, "Collect");
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains("error INV0002", failed.Output);
    }

    private static Tool.Result RunWith(BackupProject p, string xml, string targets)
    {
        File.WriteAllText(p.ProjectPath, xml);
        var env = new Dictionary<string, string?>
        {
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
        return Tool.RunWith(p.Directory, env, TimeSpan.FromMinutes(10), "dotnet",
            "msbuild", p.ProjectPath, "-t:" + targets, "-nologo", "-nodeReuse:false", "-tl:off", "-v:n", "-p:BackupRunDate=2026-11-24T01:00");
    }
}
