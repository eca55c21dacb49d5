using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

/// <summary>`dotnet msbuild -t:Collect` with the Subversion, mbox and Git modules configured.</summary>
public class RepositoryModulesEndToEndTests
{
    [Fact]
    public void Collect_runs_the_modules_first_and_a_missing_repository_fails_the_run_before_cback_collect()
    {
        Tool.Require("svnadmin");
        Tool.Require("grepmail");
        Tool.Require("git");
        using var t = new TempDir();
        var svn = t["svn/repo"];
        Directory.CreateDirectory(t["svn"]);
        ModuleRig.Ok("svnadmin", "create", svn);
        var box = t.File("mail/root", "From a@x Mon Nov 16 10:00:00 2026\nFrom: a@x\nDate: Mon, 16 Nov 2026 10:00:00 +0000\nSubject: hi\n\nhello\n\n");
        var git = t.Dir("git/project");
        ModuleRig.Ok("git", "init", "--quiet", "-b", "main", git);
        File.WriteAllText(Path.Combine(git, "a.txt"), "a\n");
        ModuleRig.Ok("git", "-C", git, "add", "a.txt");
        ModuleRig.Ok("git", "-C", git, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "--quiet", "-m", "one");
        t.File("data/file.txt", "data\n");
        var missing = t["git/missing"];

        var p = new BackupProject(t.Path)
            .Item("CollectDirectory", t["data"])
            .Item("SubversionRepository", svn, ("CompressMode", "gzip"))
            .Item("MboxFile", box)
            .Item("GitRepository", git)
            .Item("GitRepository", missing);
        var failed = p.Run("Collect", "BackupRunDate=" + ModuleRig.Monday);
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains("BKP6151", failed.All);
        Assert.Contains(missing, failed.All);
        Assert.False(File.Exists(Path.Combine(p.CollectDir, "cback.collect")));

        var good = new BackupProject(t.Path)
            .Item("CollectDirectory", t["data"])
            .Item("SubversionRepository", svn, ("CompressMode", "gzip"))
            .Item("MboxFile", box)
            .Item("GitRepository", git);
        var run = good.Run("Collect", "BackupRunDate=" + ModuleRig.Monday);
        Assert.True(run.ExitCode == 0, run.All);
        var files = Directory.GetFiles(p.CollectDir).Select(Path.GetFileName).ToList();
        Assert.Contains($"svndump-0:0-{NormalizedPath.From(svn)}.txt.gz", files);
        Assert.Contains($"mbox-20261123-{NormalizedPath.From(box)}", files);
        Assert.Contains($"git-{NormalizedPath.From(git)}.bundle", files);
        Assert.Contains($"{NormalizedPath.From(t["data"])}.tar.gz", files);
        Assert.Contains("cback.collect", files);
    }
}
