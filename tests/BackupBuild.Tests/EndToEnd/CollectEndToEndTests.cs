using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.EndToEnd;

/// <summary>`dotnet msbuild -t:Collect` on generated projects over generated trees.</summary>
public class CollectEndToEndTests
{
    private static BackupProject Project(TempDir t, string mode = "daily", string archive = "targz")
    {
        t.File("src/data/a.txt", "alpha\n");
        t.File("src/data/sub dir/b c.txt", "with spaces\n");
        t.File("src/data/übersicht ünïcode.txt", "utf-8 name\n");
        t.File("src/data/new\nline.txt", "newline in name\n");
        t.File("src/data/" + new string('n', 180) + "/" + new string('x', 150) + ".txt", "long path\n");
        File.CreateSymbolicLink(t["src/data/link"], "a.txt");
        t.File("src/single.conf", "single\n");
        return new BackupProject(t.Path)
            .Item("CollectDirectory", t["src/data"], ("CollectMode", mode), ("ArchiveMode", archive))
            .Item("CollectFile", t["src/single.conf"], ("ArchiveMode", "tar"));
    }

    private static string Prefix(TempDir t) => Tasks.Infrastructure.NormalizedPath.From(t["src"]);

    [Fact]
    public void Collect_writes_cedar_named_archives_that_gnu_tar_extracts_identically()
    {
        Tool.Require("tar");
        using var t = new TempDir();
        var p = Project(t);
        var run = p.Run("Collect");
        Assert.True(run.ExitCode == 0, run.All);

        var archive = Path.Combine(p.CollectDir, Prefix(t) + "-data.tar.gz");
        Assert.True(File.Exists(archive), run.All);
        Assert.True(File.Exists(Path.Combine(p.CollectDir, Prefix(t) + "-single.conf.tar")));
        Assert.True(File.Exists(Path.Combine(p.CollectDir, "cback.collect")));

        var list = Tool.Run("tar", "-tzf", archive);
        Assert.Equal(0, list.ExitCode);
        Assert.All(list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), n => Assert.False(n.StartsWith('/')));

        var outDir = t.Dir("extract");
        Assert.Equal(0, Tool.Run("tar", "-xzf", archive, "-C", outDir).ExitCode);
        var extracted = Snapshot.Contents(Path.Combine(outDir, t["src/data"].TrimStart('/')));
        var source = Snapshot.Contents(t["src/data"]);
        Assert.Equal(source.Keys.OrderBy(k => k), extracted.Keys.OrderBy(k => k));
        foreach (var (k, v) in source) Assert.Equal(v, extracted[k]);
        Assert.Equal("a.txt", new FileInfo(Path.Combine(outDir, t["src/data/link"].TrimStart('/'))).LinkTarget);
        Assert.Contains("Collected " + t["src/data"], run.Output);
    }

    [Fact]
    public void A_second_collect_the_same_day_with_nothing_changed_is_skipped_and_writes_nothing()
    {
        using var t = new TempDir();
        var p = Project(t);
        Assert.Equal(0, p.Run("Collect", "BackupRunDate=2026-11-24T01:00").ExitCode);
        var before = Snapshot.Of(p.Root);

        var again = p.Run("Collect", "BackupRunDate=2026-11-24T02:00");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("Skipping target \"CoreCollect\"", again.Output);
        Assert.Equal(before, Snapshot.Of(p.Root));
    }

    [Fact]
    public void Folder_properties_given_without_a_trailing_slash_on_the_command_line_work()
    {
        using var t = new TempDir();
        var p = Project(t);
        var collectDir = t["elsewhere/collect"];
        var first = p.Run("Collect", "CollectDir=" + collectDir, "WorkingDir=" + t["elsewhere/work"], "BackupRunDate=2026-11-24");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.True(File.Exists(Path.Combine(collectDir, "cback.collect")));
        Assert.True(File.Exists(t["elsewhere/work/collect.stamp"]));
        var again = p.Run("Collect", "CollectDir=" + collectDir, "WorkingDir=" + t["elsewhere/work"], "BackupRunDate=2026-11-24");
        Assert.Contains("Skipping target \"CoreCollect\"", again.Output);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("change")]
    [InlineData("delete")]
    [InlineData("backdate")]
    public void Adding_changing_deleting_or_backdating_a_file_makes_collect_run_again(string change)
    {
        using var t = new TempDir();
        var p = Project(t);
        Assert.Equal(0, p.Run("Collect", "BackupRunDate=2026-11-24T01:00").ExitCode);
        switch (change)
        {
            case "add": t.File("src/data/new.txt", "new"); break;
            case "change": File.AppendAllText(t["src/data/a.txt"], "more"); break;
            case "delete": File.Delete(t["src/data/sub dir/b c.txt"]); break;
            case "backdate": File.SetLastWriteTime(t["src/data/a.txt"], new DateTime(2000, 1, 1)); break;
        }
        var again = p.Run("Collect", "BackupRunDate=2026-11-24T02:00");
        Assert.Equal(0, again.ExitCode);
        Assert.DoesNotContain("Skipping target \"CoreCollect\"", again.Output);
        Assert.Contains("Collected " + t["src/data"], again.Output);
    }

    [Fact]
    public void A_missing_collect_directory_is_a_coded_error_and_nothing_is_written()
    {
        using var t = new TempDir();
        var p = Project(t).Item("CollectDirectory", t["src/not-there"]);
        var run = p.Run("Collect");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("error BKP2101", run.Output);
        Assert.Contains(t["src/not-there"], run.Output);
        Assert.False(Directory.Exists(p.CollectDir) && Directory.EnumerateFileSystemEntries(p.CollectDir).Any());
    }

    [Fact]
    public void Unreadable_files_and_folders_are_warnings_naming_them_and_the_rest_is_collected()
    {
        var setpriv = Tool.Require("setpriv");
        using var t = new TempDir();
        var p = Project(t);
        t.File("src/data/locked/secret.txt", "secret");
        t.File("src/data/private.txt", "private");
        Tool.Run("chmod", "-R", "a+rwX", t.Path);
        File.SetUnixFileMode(t["src/data/locked"], UnixFileMode.None);
        File.SetUnixFileMode(t["src/data/private.txt"], UnixFileMode.None);
        p.Write();

        // Root reads everything: run the build as an ordinary user, as a non-root backup user would.
        var home = t.Dir("home");
        Tool.Run("chmod", "777", home);
        var env = new Dictionary<string, string?>
        {
            ["HOME"] = home, ["DOTNET_CLI_HOME"] = home, ["TMPDIR"] = home, ["MSBUILD_EXE_PATH"] = null, ["MSBuildExtensionsPath"] = null,
            ["MSBuildSDKsPath"] = null, ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1", ["DOTNET_NOLOGO"] = "1",
        };
        var run = Tool.RunWith(t.Path, env, TimeSpan.FromMinutes(5), setpriv,
            "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", "msbuild", p.ProjectPath, "-t:Collect",
            "-nologo", "-tl:off", "-nodeReuse:false");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("warning BKP2002", run.Output);
        Assert.Contains(t["src/data/locked"], run.Output);
        Assert.Contains("warning BKP2001", run.Output);
        Assert.Contains(t["src/data/private.txt"], run.Output);
        Assert.True(run.Output.Contains("2 warnings"), run.Output);
        Assert.True(File.Exists(Path.Combine(p.CollectDir, "cback.collect")));
    }
}
