using BackupBuild.Tasks.Extensions.Git;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

[Trait("Tier", "Fast")]
public sealed class GitRepositoryTests : IDisposable
{
    private readonly ModuleRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private static Tool.Result Git(string repo, params string[] args) =>
        ModuleRig.Ok("git", new[] { "-C", repo, "-c", "user.name=Test", "-c", "user.email=test@example.org" }.Concat(args).ToArray());

    private void CommitFile(string repo, string file, string content)
    {
        File.WriteAllText(Path.Combine(repo, file), content);
        Git(repo, "add", file);
        Git(repo, "commit", "--quiet", "-m", "change " + file);
    }

    /// <summary>A repository with two branches, an annotated and a lightweight tag.</summary>
    private string CreateRepository()
    {
        Tool.Require("git");
        var repo = _rig.Temp.Dir("src/project");
        ModuleRig.Ok("git", "init", "--quiet", "-b", "main", repo);
        CommitFile(repo, "a.txt", "one\n");
        Git(repo, "tag", "-a", "v1.0", "-m", "release 1.0");
        Git(repo, "checkout", "--quiet", "-b", "feature");
        CommitFile(repo, "b.txt", "feature\n");
        Git(repo, "tag", "light");
        Git(repo, "checkout", "--quiet", "main");
        CommitFile(repo, "a.txt", "two\n");
        return repo;
    }

    private static string Refs(string repo) => Git(repo, "for-each-ref", "--format=%(objectname) %(refname)").Output;

    private string Restore(string bundle)
    {
        var clone = _rig.Temp["restored-" + Guid.NewGuid().ToString("N")[..6]];
        ModuleRig.Ok("git", "clone", "--quiet", "--mirror", bundle, clone);
        return clone;
    }

    private bool Run(string repo, string date, string mode = "incr") =>
        _rig.Run(new BackupGitRepositories { Repositories = new[] { Items.Of(repo, ("CollectMode", mode)) } }, date);

    [Fact]
    public void The_bundle_clones_with_every_ref_and_all_history_and_is_rewritten_only_when_a_ref_moves()
    {
        var repo = CreateRepository();
        var bundle = Path.Combine(_rig.CollectDir, $"git-{NormalizedPath.From(repo)}.bundle");

        Assert.True(Run(repo, ModuleRig.Tuesday), _rig.Engine.AllText);
        var clone = Restore(bundle);
        Assert.Equal(Refs(repo), Refs(clone));
        Assert.Equal(Git(repo, "rev-list", "--all", "--count").Output, Git(clone, "rev-list", "--all", "--count").Output);
        Assert.Equal("release 1.0", Git(clone, "tag", "-l", "--format=%(contents:subject)", "v1.0").Output.Trim());
        ModuleRig.Ok("git", "-C", clone, "fsck", "--no-progress");

        // No ref moved: nothing new is written.
        var written = File.GetLastWriteTimeUtc(bundle);
        Assert.True(Run(repo, ModuleRig.Wednesday), _rig.Engine.AllText);
        Assert.Contains("no ref", _rig.Engine.AllText);
        Assert.Equal(written, File.GetLastWriteTimeUtc(bundle));
        Assert.Single(_rig.CollectFiles());

        // A new commit: a new bundle holding it.
        CommitFile(repo, "c.txt", "three\n");
        Assert.True(Run(repo, "2026-11-26T01:00"), _rig.Engine.AllText);
        Assert.NotEqual(written, File.GetLastWriteTimeUtc(bundle));
        var second = Restore(bundle);
        Assert.Equal(Refs(repo), Refs(second));
        Assert.Equal("three\n", Git(second, "show", "main:c.txt").Output);
    }

    [Fact]
    public void Weekly_items_are_bundled_only_at_the_start_of_the_week_and_daily_items_every_run()
    {
        var repo = CreateRepository();
        var bundle = Path.Combine(_rig.CollectDir, $"git-{NormalizedPath.From(repo)}.bundle");
        Assert.True(Run(repo, ModuleRig.Tuesday, mode: "weekly"), _rig.Engine.AllText);
        Assert.False(File.Exists(bundle));
        Assert.True(Run(repo, ModuleRig.Monday, mode: "weekly"), _rig.Engine.AllText);
        Assert.True(File.Exists(bundle));
        File.Delete(bundle);
        Assert.True(Run(repo, ModuleRig.Tuesday, mode: "daily"), _rig.Engine.AllText);
        Assert.True(File.Exists(bundle)); // daily: bundled although no ref moved
    }

    [Fact]
    public void A_url_is_mirrored_into_the_working_dir_and_bundled()
    {
        var repo = CreateRepository();
        var url = new Uri(repo).AbsoluteUri;
        Assert.True(Run(url, ModuleRig.Monday), _rig.Engine.AllText);
        var bundle = Path.Combine(_rig.CollectDir, $"git-{NormalizedPath.From(url)}.bundle");
        Assert.Equal(Refs(repo), Refs(Restore(bundle)));

        Git(repo, "branch", "-D", "feature");
        Assert.True(Run(url, ModuleRig.Tuesday), _rig.Engine.AllText);
        Assert.Equal(Refs(repo), Refs(Restore(bundle))); // the mirror was pruned too
    }

    [Fact]
    public void A_missing_repository_is_a_coded_error_naming_it_and_leaves_no_bundle()
    {
        Tool.Require("git");
        var missing = _rig.Temp["src/gone"];
        var plain = _rig.Temp.Dir("src/plain");
        Assert.False(_rig.Run(new BackupGitRepositories
        {
            Repositories = new[] { Items.Of(missing), Items.Of(plain), Items.Of("file:///nonexistent/repo.git") },
        }, ModuleRig.Tuesday));
        Assert.Equal(new[] { "BKP6151", "BKP6152", "BKP6154" }, _rig.Engine.ErrorCodes);
        Assert.Contains(missing, _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }
}
