using System.Text.RegularExpressions;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>The walk on two threads (CollectWalker.Threads): the same entries in the same order as on one, no link followed.</summary>
[Trait("Tier", "Fast")]
public class ParallelWalkTests
{
    private sealed record Result(List<string> Entries, List<string> Unreadable);

    private static Result Walk(string root, int threads, string[]? excludes = null, string[]? patterns = null,
        Action<WalkEntry>? onEntry = null)
    {
        var unreadable = new List<string>();
        var walker = new CollectWalker(".cbignore", excludes ?? Array.Empty<string>(),
            (patterns ?? Array.Empty<string>()).Select(p => new Regex("^(?:" + p + ")$")).ToList(),
            (path, kind, errno) => unreadable.Add($"{kind}:{path}:{errno}")) { Threads = threads };
        var entries = new List<string>();
        walker.AddDirectory(root, 0, false, e =>
        {
            var s = e.Stat;
            entries.Add($"{e.Path} {s.Mode:x} {s.Size} {s.Inode} {s.MtimeSeconds}.{s.MtimeNanos} {s.CtimeSeconds}.{s.CtimeNanos}");
            onEntry?.Invoke(e);
        });
        return new Result(entries, unreadable);
    }

    /// <summary>A tree of many folders at several depths (some wide, some deep, one larger than the read-ahead size), with links of every kind.</summary>
    private static void Build(TempDir t)
    {
        var rng = new Random(17);
        for (var a = 0; a < 12; a++)
        for (var b = 0; b < 9; b++)
        {
            var folder = $"d/a{a:00}/b{b}";
            for (var f = 0; f < rng.Next(0, 6); f++) t.File($"{folder}/f{f}.txt", new string('x', rng.Next(0, 300)));
            if (b % 3 == 0) t.File($"{folder}/c/deep/er/e.txt", "e");
            if (b == 4) t.Dir($"{folder}/empty");
        }
        // Names that sort around "/" and across byte values: "x" and "x-y", "x.y", non-ASCII.
        t.File("d/x/1.txt"); t.File("d/x-y/2.txt"); t.File("d/x.y"); t.File("d/\u00e9t\u00e9/3.txt");
        for (var i = 0; i < 200; i++) t.Dir($"d/wide/w{i:000}");
        t.File("d/wide/w150/in.txt");
        t.File("d/a03/b1/.cbignore"); t.File("d/a03/b1/hidden.txt");
        t.File("d/a05/skip/q.tmp"); t.File("d/a05/skip/kept.txt");
        t.File("outside/secret.txt", "secret");
        File.CreateSymbolicLink(t["d/a01/b2/to-file"], t["d/x/1.txt"]);
        File.CreateSymbolicLink(t["d/a01/b2/dangling"], "nowhere");
        Directory.CreateSymbolicLink(t["d/a02/b0/to-outside"], t["outside"]);
        Directory.CreateSymbolicLink(t["d/a02/to-root"], t["d"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_threads_give_the_same_entries_in_the_same_order_as_one(bool exclusions)
    {
        using var t = new TempDir();
        Build(t);
        var excludes = exclusions ? new[] { t["d/a07"], t["d/wide/w010"] } : null;
        var patterns = exclusions ? new[] { @".*\.tmp", @".*/b5" } : null;

        var one = Walk(t["d"], 1, excludes, patterns);
        Assert.True(one.Entries.Count > 200, "the tree is too small: " + one.Entries.Count);
        for (var round = 0; round < 5; round++)
        {
            var two = Walk(t["d"], 2, excludes, patterns);
            Assert.Equal(one.Entries, two.Entries);
            Assert.Equal(one.Unreadable, two.Unreadable);
        }
        var all = string.Join("\n", one.Entries);
        // Links are stored as links, never followed; the ignore file prunes its folder.
        Assert.DoesNotContain("secret", all);
        Assert.DoesNotContain("to-root/", all);
        Assert.Contains(t["d/a02/b0/to-outside"] + " a1ff", all);
        Assert.DoesNotContain("hidden.txt", all);
        Assert.DoesNotContain("dangling", all);
        Assert.Equal(exclusions, !all.Contains("q.tmp"));
    }

    /// <summary>
    /// The lstat arrays of a folder are reused for the next ones: a folder whose link sat where the next folder has a
    /// subfolder must not make that subfolder look like a link (it would be stored as a file and never entered).
    /// </summary>
    [Fact]
    public void Folders_reusing_each_others_arrays_keep_their_own_links_and_subfolders()
    {
        using var t = new TempDir();
        for (var k = 0; k < 60; k++)
        for (var i = 0; i < 20; i++)
        {
            t.Dir($"d/k{k:00}");
            var name = $"d/k{k:00}/e{i:00}";
            if (i == k % 20) File.CreateSymbolicLink(t[name], t["d/k00/e05"]);
            else if (i == (k + 19) % 20) t.File(name + "/inner.txt", "in");
            else t.File(name, "f");
        }
        var one = Walk(t["d"], 1).Entries;
        Assert.Equal(60 * 20, one.Count);
        Assert.Equal(60, one.Count(e => e.Contains("/inner.txt ")));
        for (var round = 0; round < 3; round++) Assert.Equal(one, Walk(t["d"], 2).Entries);
    }

    [Fact]
    public void A_folder_larger_than_the_read_ahead_limit_gives_the_same_entries()
    {
        using var t = new TempDir();
        t.Dir("d/big");
        for (var i = 0; i < CollectWalker.LargeFolder + 100; i++) File.WriteAllBytes(t[$"d/big/f{i:00000}"], Array.Empty<byte>());
        t.File("d/big/sub/inner.txt");
        Directory.CreateSymbolicLink(t["d/big/zz-link"], t["d/big/sub"]);
        t.File("d/small/s.txt");
        var one = Walk(t["d"], 1).Entries;
        Assert.Equal(CollectWalker.LargeFolder + 103, one.Count);
        Assert.Equal(one, Walk(t["d"], 2).Entries);
    }

    /// <summary>
    /// A local user who owns folders inside a collected tree swaps them for links to a folder they cannot read, while
    /// the walk is running. No swapped folder is entered: each is read before the swap (its own file), seen as the link
    /// it now is (stored as a link), or, when it was seen as a folder and swapped before it was opened, refused as
    /// unreadable with ELOOP/ENOTDIR; nothing of the target is listed. On two threads the top folder's entries are
    /// lstat'ed before anything is handed out, so the folders the helper has not read yet are refused.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_folder_swapped_for_a_link_during_the_walk_is_never_entered(int threads)
    {
        using var t = new TempDir();
        t.File("d/a/first.txt");
        const int count = 100;   // more than the read-ahead limit: some are certainly swapped before they are read
        for (var i = 0; i < count; i++) t.File($"d/b{i:000}/own.txt");
        t.File("secret/secret.txt", "secret");
        var swapped = false;
        var result = Walk(t["d"], threads, onEntry: e =>
        {
            if (swapped) return;
            swapped = true;
            for (var i = 0; i < count; i++)
            {
                Directory.Move(t[$"d/b{i:000}"], t[$"moved{i:000}"]);
                Directory.CreateSymbolicLink(t[$"d/b{i:000}"], t["secret"]);
            }
        });
        var all = string.Join("\n", result.Entries);
        Assert.DoesNotContain("secret.txt", all);
        var refused = result.Unreadable.Where(u => u.StartsWith("directory:" + t["d/b"], StringComparison.Ordinal)).ToList();
        // ELOOP or ENOTDIR (a link), or ENOENT when the helper opened it between the move and the link.
        Assert.All(refused, u => Assert.True(u.EndsWith(":40") || u.EndsWith(":20") || u.EndsWith(":2"), u));
        if (threads > 1) Assert.True(refused.Count >= count - CollectWalker.ReadAhead - 2, $"only {refused.Count} refused: {all}");
        for (var i = 0; i < count; i++)
        {
            var read = result.Entries.Any(e => e.StartsWith(t[$"d/b{i:000}/own.txt"] + " ", StringComparison.Ordinal));
            var link = result.Entries.Any(e => e.StartsWith(t[$"d/b{i:000}"] + " a1ff ", StringComparison.Ordinal));
            var wasRefused = refused.Any(u => u.StartsWith($"directory:{t[$"d/b{i:000}"]}:", StringComparison.Ordinal));
            Assert.True((read ? 1 : 0) + (link ? 1 : 0) + (wasRefused ? 1 : 0) == 1, $"b{i:000}: read {read}, link {link}, refused {wasRefused}");
        }
    }

    [Fact]
    public void A_walk_stopped_by_its_consumer_stops_the_helper_and_closes_every_folder()
    {
        using var t = new TempDir();
        Build(t);
        for (var stopAt = 1; stopAt < 120; stopAt += 17)
        {
            var n = 0;
            Assert.Throws<OperationCanceledException>(() => Walk(t["d"], 2, onEntry: _ =>
            {
                if (++n == stopAt) throw new OperationCanceledException();
            }));
            // Nothing of the tree is held open (other tests' files may be).
            var open = Directory.GetFiles("/proc/self/fd")
                .Select(fd => { try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; } })
                .Where(target => target != null && target.StartsWith(t.Path, StringComparison.Ordinal)).ToList();
            Assert.Empty(open);
        }
    }
}
