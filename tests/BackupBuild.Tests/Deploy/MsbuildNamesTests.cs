using BackupBuild.Tests.Support;
using Xunit;
using static BackupBuild.Tests.Support.BackupProject;

namespace BackupBuild.Tests.Deploy;

/// <summary>
/// MSBuild's own target names on a backup project (docs/actions/other.md, "MSBuild's own names"): `dotnet build`,
/// `-restore`, `-t:Rebuild` and `-t:Clean` validate or do nothing; they never back up, restore files or write a disc.
/// </summary>
public class MsbuildNamesTests
{
    private static Tool.Result Dotnet(BackupProject p, params string[] args)
    {
        p.Write();
        var env = new Dictionary<string, string?>
        {
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
        return Tool.RunWith(p.Directory, env, TimeSpan.FromMinutes(10), "dotnet", args);
    }

    private static string[] FilesUnder(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories) : [];

    [Fact]
    public void Dotnet_build_validates_and_writes_nothing_under_the_backup_root()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var build = Dotnet(p, "build", p.ProjectPath, "-nologo", "-tl:off", "-v:n", "-nodeReuse:false", "-p:BackupRunDate=2026-11-24T01:00");
        Assert.True(build.ExitCode == 0, build.All);
        Assert.Contains("The configuration is valid", build.Output);
        Assert.Empty(FilesUnder(p.Root));
        Assert.DoesNotContain("RestoreFiles", build.Output);

        // --no-incremental is -t:Rebuild: MSBuild's Clean then Build, so a validation again; `dotnet clean` does nothing.
        var rebuild = Dotnet(p, "build", p.ProjectPath, "--no-incremental", "-nologo", "-tl:off", "-v:n", "-nodeReuse:false");
        Assert.True(rebuild.ExitCode == 0, rebuild.All);
        Assert.Contains("The configuration is valid", rebuild.Output);
        var clean = Dotnet(p, "clean", p.ProjectPath, "-nologo", "-tl:off", "-v:n", "-nodeReuse:false");
        Assert.True(clean.ExitCode == 0, clean.All);
        Assert.Empty(FilesUnder(p.Root));
    }

    [Fact]
    public void Restore_phase_restores_no_files_and_Rebuild_writes_no_disc_but_RebuildMedium_and_t_Restore_do_their_work()
    {
        using var t = new TempDir();
        var p = PoolOfOne(t);
        var image = p.Root + "media/backup.iso";
        var day = "BackupRunDate=2026-11-24T01:00";
        var staged = p.Run("Collect;Stage", day);
        Assert.True(staged.ExitCode == 0, staged.All);
        Assert.False(File.Exists(image));

        // -restore runs MSBuild's restore phase (the target Restore with MSBuildIsRestoring=true) before Validate.
        var into = t.Dir("restored");
        var restorePhase = Dotnet(p, "msbuild", p.ProjectPath, "-restore", "-t:Validate", "-nologo", "-tl:off", "-v:n", "-nodeReuse:false",
            "-p:" + day, "-p:RestoreTo=" + into, "-p:RestorePath=" + t["src/docs"]);
        Assert.True(restorePhase.ExitCode == 0, restorePhase.All);
        Assert.Empty(FilesUnder(into));
        Assert.DoesNotContain("CoreRestore", restorePhase.Output);

        var rebuild = p.Run("Rebuild", day);
        Assert.True(rebuild.ExitCode == 0, rebuild.All);
        Assert.False(File.Exists(image), rebuild.All);

        var medium = p.Run("RebuildMedium", day);
        Assert.True(medium.ExitCode == 0, medium.All);
        Assert.True(File.Exists(image), medium.All);

        // Typed by a user, -t:Restore restores files.
        var restore = p.Run("Restore", day, "RestoreTo=" + into, "RestorePath=" + t["src/docs"]);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.Equal("quarterly report\n", File.ReadAllText(into + t["src/docs/report.txt"]));
    }
}
