using BackupBuild.Tasks.Extensions.Subversion;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Extensions;

[Trait("Tier", "Fast")]
public sealed class SubversionTests : IDisposable
{
    private readonly ModuleRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private string CreateRepository()
    {
        Tool.Require("svnadmin");
        Tool.Require("svnmucc");
        var repo = _rig.Temp["svn/project repo"];
        Directory.CreateDirectory(Path.GetDirectoryName(repo)!);
        ModuleRig.Ok("svnadmin", "create", repo);
        return repo;
    }

    private void Commit(string repo, string path, string content, string message, string? mkdir = null)
    {
        var file = _rig.Temp.File("content-" + Guid.NewGuid().ToString("N"), content);
        var url = new Uri(repo).AbsoluteUri;
        var args = new List<string> { "-m", message };
        if (mkdir != null) args.AddRange(new[] { "mkdir", url + "/" + mkdir });
        args.AddRange(new[] { "put", file, url + "/" + path });
        ModuleRig.Ok("svnmucc", args.ToArray());
    }

    private bool Run(string repo, string date, string mode = "incr", string compress = "none", bool full = false) =>
        _rig.Run(new BackupSubversion
        {
            Repositories = new[] { PropsDefaults.Defined("SubversionRepository", repo, ("CollectMode", mode), ("CompressMode", compress)) },
        }, date, full);

    [Fact]
    public void Full_dump_at_the_start_of_the_week_then_incremental_dumps_load_back_into_a_fresh_repository()
    {
        var repo = CreateRepository();
        Commit(repo, "readme.txt", "first\n", "r1");
        Commit(repo, "notes.txt", "notes\n", "r2");
        var name = NormalizedPath.From(repo);

        Assert.True(Run(repo, ModuleRig.Monday, compress: "bzip2"), _rig.Engine.AllText);
        Assert.Equal(new[] { $"svndump-0:2-{name}.txt.bz2" }, _rig.CollectFiles());

        Commit(repo, "readme.txt", "second\n", "r3");
        Commit(repo, "dir/new.txt", "new\n", "r4", mkdir: "dir");
        Assert.True(Run(repo, ModuleRig.Tuesday, compress: "gzip"), _rig.Engine.AllText);
        Assert.Contains($"svndump-3:4-{name}.txt.gz", _rig.CollectFiles());

        // No new revision: nothing written.
        Assert.True(Run(repo, ModuleRig.Wednesday), _rig.Engine.AllText);
        Assert.Equal(2, _rig.CollectFiles().Length);

        ModuleRig.Ok("bzip2", "-dk", Path.Combine(_rig.CollectDir, $"svndump-0:2-{name}.txt.bz2"));
        ModuleRig.Ok("gzip", "-dk", Path.Combine(_rig.CollectDir, $"svndump-3:4-{name}.txt.gz"));
        var restored = _rig.Temp["restored"];
        ModuleRig.Ok("svnadmin", "create", restored);
        ModuleRig.Ok("svnadmin", "load", "--quiet", "--file", Path.Combine(_rig.CollectDir, $"svndump-0:2-{name}.txt"), restored);
        ModuleRig.Ok("svnadmin", "load", "--quiet", "--file", Path.Combine(_rig.CollectDir, $"svndump-3:4-{name}.txt"), restored);

        Assert.Equal("4", ModuleRig.Ok("svnlook", "youngest", restored).Output.Trim());
        Assert.Equal("second\n", ModuleRig.Ok("svnlook", "cat", restored, "readme.txt").Output);
        Assert.Equal("new\n", ModuleRig.Ok("svnlook", "cat", restored, "dir/new.txt").Output);
        Assert.Equal("first\n", ModuleRig.Ok("svnlook", "cat", "-r", "1", restored, "readme.txt").Output);
        Assert.Equal(ModuleRig.Ok("svnlook", "tree", repo).Output, ModuleRig.Ok("svnlook", "tree", restored).Output);
    }

    [Fact]
    public void Daily_items_are_dumped_in_full_every_day_and_full_overrides_incremental_state()
    {
        var repo = CreateRepository();
        Commit(repo, "a.txt", "a\n", "r1");
        var name = NormalizedPath.From(repo);
        Assert.True(Run(repo, ModuleRig.Tuesday, mode: "daily"), _rig.Engine.AllText);
        Assert.True(Run(repo, ModuleRig.Tuesday, mode: "incr"), _rig.Engine.AllText);
        Commit(repo, "b.txt", "b\n", "r2");
        Assert.True(Run(repo, ModuleRig.Wednesday, mode: "incr", full: true), _rig.Engine.AllText);
        Assert.Equal(new[] { $"svndump-0:1-{name}.txt", $"svndump-0:2-{name}.txt" }, _rig.CollectFiles());
    }

    [Fact]
    public void A_missing_repository_or_a_failing_dump_is_a_coded_error_and_leaves_no_dump()
    {
        var repo = CreateRepository();
        Commit(repo, "a.txt", "a\n", "r1");
        Commit(repo, "b.txt", "b\n", "r2");
        var missing = _rig.Temp["svn/gone"];
        var notRepo = _rig.Temp.Dir("svn/plain folder");
        Assert.False(_rig.Run(new BackupSubversion
        {
            Repositories = new[] { PropsDefaults.Defined("SubversionRepository", missing), PropsDefaults.Defined("SubversionRepository", notRepo), PropsDefaults.Defined("SubversionRepository", repo, ("CollectMode", "incr")) },
        }, ModuleRig.Monday), _rig.Engine.AllText);
        Assert.Contains("BKP6111", _rig.Engine.ErrorCodes);
        Assert.Contains("BKP6112", _rig.Engine.ErrorCodes);
        Assert.Contains(missing, _rig.Engine.AllText);
        Assert.Single(_rig.CollectFiles()); // the good repository was still dumped

        // A damaged revision: svnlook still answers, svnadmin dump fails half-way.
        File.Delete(Path.Combine(repo, "db", "revs", "0", "2"));
        Directory.Delete(_rig.CollectDir, recursive: true);
        Assert.False(Run(repo, ModuleRig.Monday, compress: "gzip"));
        Assert.Equal(new[] { "BKP6113" }, _rig.Engine.ErrorCodes);
        Assert.Contains(repo, _rig.Engine.AllText);
        Assert.Empty(_rig.CollectFiles());
    }

    [Fact]
    public void Bad_modes_are_reported_before_anything_is_dumped()
    {
        Assert.False(_rig.Run(new BackupSubversion
        {
            Repositories = new[] { PropsDefaults.Defined("SubversionRepository", "/srv/svn/x", ("CollectMode", "hourly"), ("CompressMode", "zip")) },
        }, ModuleRig.Monday));
        Assert.Equal(new[] { "BKP6100", "BKP6101" }, _rig.Engine.ErrorCodes.Order());
    }
}
