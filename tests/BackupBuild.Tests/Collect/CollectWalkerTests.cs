using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

[Trait("Tier", "Fast")]
public class CollectWalkerTests
{
    private static List<string> Walk(string root, int linkDepth = 0, bool dereference = false, string ignore = ".cbignore",
        string[]? excludes = null, string[]? patterns = null)
    {
        var walker = new CollectWalker(ignore, excludes ?? Array.Empty<string>(),
            (patterns ?? Array.Empty<string>()).Select(p => new Regex("^(?:" + p + ")$")).ToList(), (_, _, _) => { });
        walker.AddDirectory(root, linkDepth, dereference);
        return walker.Entries.Select(e => Path.GetRelativePath(root, e.Path) + (e.Stat.IsSymlink ? "@" : "")).ToList();
    }

    [Fact]
    public void Lists_files_and_symlinks_not_directories_or_broken_links()
    {
        using var t = new TempDir();
        t.File("d/a.txt", "a");
        t.File("d/sub/b.txt", "b");
        t.Dir("d/empty");
        File.CreateSymbolicLink(t["d/link-to-a"], "a.txt");
        File.CreateSymbolicLink(t["d/dangling"], "nowhere");
        Directory.CreateSymbolicLink(t["d/link-to-sub"], "sub");

        Assert.Equal(new[] { "a.txt", "link-to-a@", "link-to-sub@", "sub/b.txt" }, Walk(t["d"]));
    }

    [Fact]
    public void Ignore_file_prunes_its_folder_and_excludes_prune_subtrees()
    {
        using var t = new TempDir();
        t.File("d/keep.txt");
        t.File("d/skip/.cbignore");
        t.File("d/skip/x.txt");
        t.File("d/gone/y.txt");
        t.File("d/z.tmp");
        t.File("d/deep/q.tmp");

        var listed = Walk(t["d"], excludes: new[] { t["d/gone"] }, patterns: new[] { @".*\.tmp" });
        Assert.Equal(new[] { "keep.txt" }, listed);
    }

    [Fact]
    public void Exclude_patterns_start_interpreted_and_are_compiled_after_many_paths_with_the_same_result()
    {
        // The configuration builds them interpreted (compiling costs a small tree's walk several times over); the walk
        // compiles them after CollectWalker.CompilePatternsAfter paths. What they exclude does not change.
        using var t = new TempDir();
        var files = CollectWalker.CompilePatternsAfter + 200;
        for (var i = 0; i < files; i++) t.File($"d/f{i / 500}/n{i}" + (i % 7 == 0 ? ".tmp" : ".txt"));
        var patterns = new List<Regex> { new(@"^(?:.*\.tmp)$", RegexOptions.CultureInvariant) };

        var small = new CollectWalker(".cbignore", Array.Empty<string>(), patterns, (_, _, _) => { });
        small.AddDirectory(t["d/f0"], 0, false);
        Assert.Equal(Enumerable.Range(0, 500).Count(i => i % 7 != 0), small.Entries.Count);
        Assert.Equal(RegexOptions.None, small.PatternsInUse[0].Options & RegexOptions.Compiled);

        var large = new CollectWalker(".cbignore", Array.Empty<string>(), patterns, (_, _, _) => { });
        large.AddDirectory(t["d"], 0, false);
        Assert.Equal(RegexOptions.Compiled, large.PatternsInUse[0].Options & RegexOptions.Compiled);
        Assert.Equal(Enumerable.Range(0, files).Count(i => i % 7 != 0), large.Entries.Count);
        Assert.DoesNotContain(large.Entries, e => e.Path.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(@"^(?:.*\.tmp)$", large.PatternsInUse[0].ToString());
    }

    [Fact]
    public void Link_depth_follows_directory_links_and_counts_down_with_depth()
    {
        using var t = new TempDir();
        t.File("target/t.txt");
        t.File("d/x.txt");
        Directory.CreateSymbolicLink(t["d/top"], t["target"]);
        Directory.CreateDirectory(t["d/level1"]);
        Directory.CreateSymbolicLink(t["d/level1/deeper"], t["target"]);

        // Depth 1: links in d itself are followed (their contents listed under the link's path, the
        // link not stored); one level down the depth is spent, so the link is stored as a link.
        Assert.Equal(new[] { "level1/deeper@", "top/t.txt", "x.txt" }, Walk(t["d"], linkDepth: 1));
        Assert.Equal(new[] { "level1/deeper/t.txt", "top/t.txt", "x.txt" }, Walk(t["d"], linkDepth: 2));
    }

    [Fact]
    public void Dereference_adds_link_targets_as_well()
    {
        using var t = new TempDir();
        t.File("outside/o.txt", "o");
        t.File("d/x.txt");
        File.CreateSymbolicLink(t["d/file-link"], t["outside/o.txt"]);

        var walker = new CollectWalker(".cbignore", Array.Empty<string>(), Array.Empty<Regex>(), (_, _, _) => { });
        walker.AddDirectory(t["d"], 1, dereference: true);
        var paths = walker.Entries.Select(e => e.Path).ToList();
        Assert.Contains(t["outside/o.txt"], paths);
        Assert.Contains(t["d/file-link"], paths);
    }
}
