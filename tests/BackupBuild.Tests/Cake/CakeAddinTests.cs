using BackupBuild.Tests.Support;
using Cake.BackupBuild;
using Cake.Core;
using Xunit;

namespace BackupBuild.Tests.Cake;

/// <summary>The Cake add-in's command lines: typed settings become escaped global properties.</summary>
[Trait("Tier", "Fast")]
public class CakeAddinArgumentTests
{
    [Fact]
    public void Typed_settings_become_properties_and_a_hostile_value_stays_one_property()
    {
        var s = new BackupRestoreSettings
        {
            RunDate = "2026-11-24", RestoreTo = "/tmp/r", Path = "/srv/a b;c", RestorePeer = "web1", DryRun = true,
        }.WithProperty("StoreMediaLabel", "X;CollectDir=/etc $(HOME) @(Peer) *");
        var args = BackupBuildAliases.Arguments("Restore", "/site/backup.proj", s);
        Assert.Equal(["msbuild", "/site/backup.proj", "-t:Restore", "-nologo", "-v:minimal"], args.Take(5));
        Assert.Contains("-p:BackupRunDate=2026-11-24", args);
        Assert.Contains("-p:RestoreTo=/tmp/r", args);
        Assert.Contains("-p:RestorePath=/srv/a%20b%3Bc", args);
        Assert.Contains("-p:RestoreDryRun=true", args);
        Assert.Contains("-p:StoreMediaLabel=X%3BCollectDir=/etc%20%24(HOME)%20%40(Peer)%20%2A", args);
        // Nothing that could end a value, start an expression or change the quoting survives escaping.
        foreach (var a in args.Skip(5)) Assert.DoesNotMatch("[;\"\\\\ $@*'?]", a.Substring(a.IndexOf('=') + 1));
    }

    [Theory]
    [InlineData("Bad Name", "x", "BKP9500")]
    [InlineData("X=Y", "x", "BKP9500")]
    [InlineData("BackupRunDate", "2026-11-24", "BKP9500")] // given twice: typed and in Properties
    [InlineData("Label", "a\nb", "BKP9501")]
    public void A_bad_name_or_value_is_refused_before_anything_runs(string name, string value, string code)
    {
        var s = new BackupSettings { RunDate = "2026-11-24" }.WithProperty(name, value);
        var e = Assert.Throws<CakeException>(() => BackupBuildAliases.Arguments("Collect", "/p", s));
        Assert.StartsWith(code, e.Message);
    }
}

/// <summary>A real `dotnet cake` run of a build.cake that backs a tree up and restores it through the add-in.</summary>
public class CakeAddinEndToEndTests
{
    [Fact]
    public void A_cake_script_backs_up_a_tree_and_restores_it_through_the_addin_from_the_folder_feed()
    {
        using var t = new TempDir();
        t.File("src/docs/report.txt", "quarterly report\n");
        t.File("src/docs/ünïcode name.txt", "utf-8\n");
        t.File("src/etc/app.conf", "listen 8080\n");
        var p = new BackupProject(t["site"])
            .Property("StoreMediaType", "dvd+rw")
            .Item("Peer", "master", ("Type", "local"), ("CollectDir", t["site/var/collect"]))
            .Item("CollectDirectory", t["src/docs"], ("CollectMode", "incr"))
            .Item("CollectDirectory", t["src/etc"], ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"));
        Directory.CreateDirectory(p.Directory);
        p.Write();

        // The add-in packed into a folder feed, as a site gets it; a version of its own so no NuGet cache has it.
        var version = "1.0.0-test" + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        var env = new Dictionary<string, string?>
        {
            ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null, ["MSBuildSDKsPath"] = null,
            ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["DOTNET_NOLOGO"] = "1",
        };
        var pack = Tool.RunWith(Repo.Root, env, TimeSpan.FromMinutes(5), "dotnet", "pack",
            Path.Combine(Repo.Root, "cake/Cake.BackupBuild/Cake.BackupBuild.csproj"), "-c", "Release", "--no-build",
            "-o", t["feed"], "-p:Version=" + version, "-nologo");
        Assert.True(pack.ExitCode == 0, pack.All);
        var tool = Tool.RunWith(t.Path, env, TimeSpan.FromMinutes(5), "dotnet", "tool", "install", "cake.tool",
            "--version", "7.0.0", "--tool-path", t["tool"]);
        Assert.True(tool.ExitCode == 0, tool.All);

        File.WriteAllText(t["site/build.cake"], $$"""
            #addin nuget:file://{{t["feed"]}}?package=Cake.BackupBuild&version={{version}}

            var project = File("backup.proj");
            Task("Backup").Does(() =>
            {
                BackupValidate(new BackupSettings { Project = project });
                BackupAll(new BackupSettings { Project = project, RunDate = "2026-11-24T01:00" });
            });
            Task("Restore").IsDependentOn("Backup").Does(() =>
            {
                BackupFind(new BackupFindSettings { Project = project, Pattern = "report.txt" });
                BackupRestore(new BackupRestoreSettings { Project = project, RestoreTo = Directory("{{t["restored"]}}"), RestorePeer = "master", Path = "{{t["src"]}}" });
            });
            RunTarget("Restore");
            """);
        var cake = Tool.RunWith(t["site"], env, TimeSpan.FromMinutes(10), t["tool/dotnet-cake"], "build.cake", "--verbosity=normal");
        Assert.True(cake.ExitCode == 0, cake.All);
        Assert.Contains("report.txt", cake.All); // Find's listing reached the script's output

        foreach (var f in new[] { "src/docs/report.txt", "src/docs/ünïcode name.txt", "src/etc/app.conf" })
            Assert.Equal(File.ReadAllText(t[f]), File.ReadAllText(t["restored"] + t[f]));
        Assert.True(File.Exists(Path.Combine(p.StagingDir, "2026/11/24/cback.store")), cake.All);

        // A failed action fails the script with the add-in's code and the action's own.
        File.WriteAllText(t["site/fail.cake"], $$"""
            #addin nuget:file://{{t["feed"]}}?package=Cake.BackupBuild&version={{version}}
            BackupRestore(new BackupRestoreSettings { Project = File("backup.proj"), RestoreTo = Directory("{{t["restored2"]}}"), RestoreDate = "2020-01-01" });
            """);
        var fail = Tool.RunWith(t["site"], env, TimeSpan.FromMinutes(10), t["tool/dotnet-cake"], "fail.cake");
        Assert.NotEqual(0, fail.ExitCode);
        Assert.Contains("BKP9503", fail.All);
        Assert.Matches("BKP8[0-9]{3}", fail.All);
    }
}
