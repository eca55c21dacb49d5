using BackupBuild.Tasks.Requests;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Requests;

/// <summary>
/// The control repositories read and written in-process (LibGit2Sharp): what they write is what the git program reads,
/// and what a hostile other side can put in one (a link, odd tree entries, a huge file) is never followed or read.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ControlRepositoryTests : IDisposable
{
    private readonly TempDir _t = new();

    public void Dispose() => _t.Dispose();

    private static string Git(string gitDir, params string[] args) =>
        RequestPool.Sh("git", new[] { "--git-dir=" + gitDir, "-c", "user.name=t", "-c", "user.email=t@e" }.Concat(args).ToArray());

    [Fact]
    public void A_request_commit_written_in_process_is_what_git_reads_and_a_second_identical_one_is_no_new_commit()
    {
        Tool.Require("git");
        var repo = _t["control/server.git"];
        ControlRepository.EnsureBare(repo);
        Assert.Null(ControlRepository.Resolve(repo, "refs/heads/requests"));
        var files = new[] { ("20261204T230000000Z-git-0123456789ab", "module=git\npath=/srv/a.git\n"), ("acks", "x ok\n") };
        var first = ControlRepository.CommitFlatTree(repo, files, null, "two files");
        ControlRepository.UpdateRef(repo, "refs/heads/requests", first);

        Assert.Equal(first, Git(repo, "rev-parse", "refs/heads/requests"));
        Assert.Equal("module=git\npath=/srv/a.git\n", Git(repo, "cat-file", "blob", "refs/heads/requests:20261204T230000000Z-git-0123456789ab") + "\n");
        Assert.Equal("", Git(repo, "fsck", "--full", "--no-dangling"));
        Assert.Equal("BackupBuild <backupbuild@localhost>", Git(repo, "log", "-1", "--format=%an <%ae>", "refs/heads/requests"));
        Assert.Equal(first, ControlRepository.Resolve(repo, "refs/heads/requests"));
        Assert.Equal(first, ControlRepository.CommitFlatTree(repo, files, first, "the same"));

        var second = ControlRepository.CommitFlatTree(repo, files.Take(1), first, "one file");
        Assert.NotEqual(first, second);
        Assert.Equal(first, Git(repo, "rev-parse", second + "^"));
        // Read back as the git program wrote it (cat-file's text without its final newline).
        Assert.Equal(new Dictionary<string, string> { ["20261204T230000000Z-git-0123456789ab"] = "module=git\npath=/srv/a.git", ["acks"] = "x ok" },
            ControlRepository.ReadFlatTree(repo, "refs/heads/requests"));
    }

    [Fact]
    public void Links_folders_and_huge_files_in_a_pushed_tree_are_not_read()
    {
        Tool.Require("git");
        var repo = _t["control/web1.git"];
        RequestPool.Sh("git", "init", "-q", "--bare", repo);
        var work = _t.Dir("work");
        RequestPool.Sh("git", "init", "-q", work);
        File.WriteAllText(Path.Combine(work, "20261204T230000000Z-git-0123456789ab"), "a request\n");
        File.CreateSymbolicLink(Path.Combine(work, "20261204T230000000Z-git-aaaaaaaaaaaa"), "/etc/shadow");
        Directory.CreateDirectory(Path.Combine(work, "20261204T230000000Z-git-bbbbbbbbbbbb"));
        File.WriteAllText(Path.Combine(work, "20261204T230000000Z-git-bbbbbbbbbbbb", "inner"), "inside a folder\n");
        RequestPool.Sh("git", "-C", work, "add", "-A");
        RequestPool.Sh("git", "-C", work, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "odd");
        RequestPool.Sh("git", "-C", work, "push", "-q", repo, "HEAD:refs/heads/requests");

        Assert.Equal(new Dictionary<string, string> { ["20261204T230000000Z-git-0123456789ab"] = "a request" },
            ControlRepository.ReadFlatTree(repo, "refs/heads/requests"));

        // A file far larger than any request is refused, not read into memory.
        File.WriteAllBytes(Path.Combine(work, "20261204T230000000Z-git-cccccccccccc"), new byte[ControlRepository.MaxFileBytes + 1]);
        RequestPool.Sh("git", "-C", work, "add", "-A");
        RequestPool.Sh("git", "-C", work, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "huge");
        RequestPool.Sh("git", "-C", work, "push", "-q", repo, "HEAD:refs/heads/requests");
        var huge = Assert.Throws<GitFailure>(() => ControlRepository.ReadFlatTree(repo, "refs/heads/requests"));
        Assert.Contains("20261204T230000000Z-git-cccccccccccc", huge.Message);
    }

    [Fact]
    public void A_control_repository_with_a_link_inside_is_refused()
    {
        Tool.Require("git");
        var repo = _t["control/web1.git"];
        ControlRepository.EnsureBare(repo);
        var commit = ControlRepository.CommitFlatTree(repo, new[] { ("acks", "") }, null, "acks");
        ControlRepository.UpdateRef(repo, "refs/heads/acks", commit);
        var outside = _t.File("outside/ref", commit + "\n");
        File.CreateSymbolicLink(Path.Combine(repo, "refs", "heads", "requests"), outside);

        var e = Assert.Throws<GitFailure>(() => ControlRepository.Resolve(repo, "refs/heads/requests"));
        Assert.Contains("refs/heads/requests\" is a symbolic link", e.Message);
        File.Delete(Path.Combine(repo, "refs", "heads", "requests"));

        // The object store itself through a link: refused the same way.
        Directory.Move(Path.Combine(repo, "objects"), _t["outside/objects"]);
        File.CreateSymbolicLink(Path.Combine(repo, "objects"), _t["outside/objects"]);
        e = Assert.Throws<GitFailure>(() => ControlRepository.ReadFlatTree(repo, "refs/heads/acks"));
        Assert.Contains("\"objects\" is a symbolic link", e.Message);
    }
}
