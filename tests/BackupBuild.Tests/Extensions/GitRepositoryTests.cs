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
        _rig.Run(new BackupGitRepositories { Repositories = new[] { PropsDefaults.Defined("GitRepository", repo, ("CollectMode", mode)) } }, date);

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
            Repositories = new[] { PropsDefaults.Defined("GitRepository", missing), PropsDefaults.Defined("GitRepository", plain), PropsDefaults.Defined("GitRepository", "file:///nonexistent/repo.git") },
        }, ModuleRig.Tuesday));
        Assert.Equal(new[] { "BKP6151", "BKP6152", "BKP6154" }, _rig.Engine.ErrorCodes);
        Assert.Contains(missing, _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }

    /// <summary>The file of a loose object the repository holds (the first blob of HEAD's tree).</summary>
    private static (string Id, string File) LooseBlob(string gitDir, string repo)
    {
        var id = Git(repo, "rev-parse", "HEAD:a.txt").Output.Trim();
        return (id, Path.Combine(gitDir, "objects", id[..2], id[2..]));
    }

    [Fact]
    public void A_repository_with_a_damaged_head_is_refused_before_anything_is_written()
    {
        var repo = CreateRepository();
        File.WriteAllText(Path.Combine(repo, ".git", "HEAD"), "this is not a ref\n");
        Assert.False(Run(repo, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP7210" }, _rig.Engine.ErrorCodes);
        Assert.Contains(repo, _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }

    [Fact]
    public void A_damaged_loose_object_is_named_and_no_bundle_is_written()
    {
        var repo = CreateRepository();
        var (id, file) = LooseBlob(Path.Combine(repo, ".git"), repo);
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.SetAttributes(file, FileAttributes.Normal);
        File.WriteAllBytes(file, bytes);
        Assert.False(Run(repo, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP7211" }, _rig.Engine.ErrorCodes);
        Assert.Contains(repo, _rig.Engine.AllText);
        Assert.Contains(id, _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }

    [Fact]
    public void A_missing_object_is_named_and_no_bundle_is_written()
    {
        var repo = CreateRepository();
        var (id, file) = LooseBlob(Path.Combine(repo, ".git"), repo);
        File.Delete(file);
        Assert.False(Run(repo, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP7211" }, _rig.Engine.ErrorCodes);
        Assert.Contains($"missing object {id}", _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }

    [Fact]
    public void A_ref_that_is_a_link_out_of_the_repository_is_never_followed()
    {
        var repo = CreateRepository();
        var secret = _rig.Temp.File("secret", "0123456789012345678901234567890123456789\n");
        var branch = Path.Combine(repo, ".git", "refs", "heads", "stolen");
        File.CreateSymbolicLink(branch, secret);
        Assert.False(Run(repo, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP7210" }, _rig.Engine.ErrorCodes);
        Assert.Contains("refs/heads/stolen\" is a symbolic link", _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());

        // Borrowed objects (objects/info/alternates) are another repository's: refused the same way.
        File.Delete(branch);
        File.WriteAllText(Path.Combine(repo, ".git", "objects", "info", "alternates"), _rig.Temp.Dir("elsewhere") + "\n");
        Assert.False(Run(repo, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP7210" }, _rig.Engine.ErrorCodes);
        Assert.Contains("alternates", _rig.Engine.AllText);
    }

    [Fact]
    public void A_linked_worktree_whose_git_file_names_its_git_directory_is_bundled()
    {
        var repo = CreateRepository();
        var linked = _rig.Temp["src/linked"];
        Git(repo, "worktree", "add", "--quiet", linked, "feature");
        Assert.True(File.Exists(Path.Combine(linked, ".git")));
        Assert.True(Run(linked, ModuleRig.Monday), _rig.Engine.AllText);
        var bundle = Path.Combine(_rig.CollectDir, $"git-{NormalizedPath.From(linked)}.bundle");
        Assert.Equal(Refs(repo), Refs(Restore(bundle)));
    }

    [Fact]
    public void Refs_read_in_process_are_the_text_git_printed_so_old_state_files_stay_valid()
    {
        var repo = CreateRepository();
        Git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/feature");
        var bare = _rig.Temp["src/bare.git"];
        ModuleRig.Ok("git", "clone", "--quiet", "--mirror", repo, bare);
        foreach (var r in new[] { repo, bare })
        {
            using var lg = LocalGit.Open(r);
            var (head, refs) = LocalGit.Refs(lg);
            var expected = "HEAD " + Tool.Run("git", "-C", r, "symbolic-ref", "-q", "HEAD").Output.Trim() + "\n" + Refs(r);
            Assert.Equal(expected, "HEAD " + head + "\n" + string.Concat(refs.Select(x => $"{x.Id} {x.Name}\n")));
        }
    }
}

