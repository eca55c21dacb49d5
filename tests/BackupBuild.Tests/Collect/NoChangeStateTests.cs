using System.Security.Cryptography;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// A no-change day writes no state file, not even a temporary one, and leaves the state as it was; the days after it
/// still archive exactly what changed, with a state that matches the files.
/// </summary>
[Trait("Tier", "Fast")]
public class NoChangeStateTests
{
    private static List<WalkEntry> WalkOf(string root)
    {
        var walker = new CollectWalker("", Array.Empty<string>(), Array.Empty<System.Text.RegularExpressions.Regex>(), (_, _, _) => { });
        walker.AddDirectory(root, 0, false);
        return walker.Entries.ToList();
    }

    private static byte[] Hash(WalkEntry e) => SHA256.HashData(File.ReadAllBytes(e.Path));

    /// <summary>One day's collect of <paramref name="root"/> through the plan, as CollectArchives drives it: the paths archived.</summary>
    private static List<string> Day(string root, string statePath, string day, bool reset = false, Action? afterEach = null)
    {
        var archived = new List<string>();
        using var plan = IncrementalPlan.Load(statePath, day, reset, rehashAll: false, _ => throw new Exception("damaged"));
        foreach (var e in WalkOf(root))
        {
            var decision = plan.Decide(e, Hash);
            if (decision != IncrementalPlan.Decision.Skip)
            {
                archived.Add(Path.GetRelativePath(root, e.Path));
                if (decision == IncrementalPlan.Decision.ArchiveAndHash) plan.Archived(e.PathBytes, e.Stat, Hash(e));
            }
            afterEach?.Invoke();
        }
        plan.Save();
        return archived;
    }

    /// <summary>The state on disk matches the files now: every file, its stat data and its content's hash.</summary>
    private static void AssertStateMatches(string root, string statePath)
    {
        Assert.Equal(IncrementalState.LoadResult.Loaded, IncrementalState.TryLoad(statePath, out _, out var state));
        var files = WalkOf(root);
        Assert.Equal(files.Select(f => f.Path).OrderBy(p => p, StringComparer.Ordinal), state.Keys.OrderBy(p => p, StringComparer.Ordinal));
        foreach (var f in files)
        {
            Assert.True(state[f.Path].SameStat(f.Stat), f.Path);
            Assert.Equal(Hash(f), state[f.Path].Sha256);
        }
    }

    private static void Tree(TempDir t)
    {
        for (var i = 0; i < 60; i++) t.File($"d/s{i % 7}/f{i:00}.txt", "content " + i);
    }

    [Fact]
    public void A_no_change_day_writes_no_state_and_the_next_days_archive_exactly_what_changed()
    {
        using var t = new TempDir();
        Tree(t);
        var work = t.Dir("work");
        var statePath = Path.Combine(work, "d.state");
        Assert.Equal(60, Day(t["d"], statePath, "2026-11-23", reset: true).Count);
        var bytes = File.ReadAllBytes(statePath);
        var written = File.GetLastWriteTimeUtc(statePath);
        var inode = Posix.LStat(statePath, out _)!.Value.Inode;
        var before = Directory.GetFiles(work).Select(f => (f, File.GetLastWriteTimeUtc(f))).OrderBy(f => f.f).ToList();

        // Tuesday, nothing changed: nothing archived, and at no moment of the run is any other file in the state's folder.
        var seen = new HashSet<string>();
        Assert.Empty(Day(t["d"], statePath, "2026-11-24", afterEach: () => seen.UnionWith(Directory.GetFiles(work))));
        Assert.Equal(before.Select(f => f.f), seen.Order());
        Assert.Equal(before, Directory.GetFiles(work).Select(f => (f, File.GetLastWriteTimeUtc(f))).OrderBy(f => f.f).ToList());
        Assert.Equal(bytes, File.ReadAllBytes(statePath));
        Assert.Equal(written, File.GetLastWriteTimeUtc(statePath));
        Assert.Equal(inode, Posix.LStat(statePath, out _)!.Value.Inode);

        // Wednesday: one file in the middle changed, one removed, one added.
        File.WriteAllText(t["d/s3/f31.txt"], "changed on wednesday");
        File.Delete(t["d/s5/f12.txt"]);
        t.File("d/s1/new.txt", "new");
        Assert.Equal(new[] { "s1/new.txt", "s3/f31.txt" }, Day(t["d"], statePath, "2026-11-25").OrderBy(p => p, StringComparer.Ordinal));
        AssertStateMatches(t["d"], statePath);

        // Thursday, nothing changed again; Friday only a removal (the state must forget the file, though no record differs).
        Assert.Empty(Day(t["d"], statePath, "2026-11-26"));
        AssertStateMatches(t["d"], statePath);
        File.Delete(t["d/s6/f59.txt"]);
        Assert.Empty(Day(t["d"], statePath, "2026-11-27"));
        AssertStateMatches(t["d"], statePath);
        // Saturday: the removed file comes back with its old content: it is new to the state, so it is archived.
        File.WriteAllText(t["d/s6/f59.txt"], "content 59");
        Assert.Equal(new[] { "s6/f59.txt" }, Day(t["d"], statePath, "2026-11-28"));
        AssertStateMatches(t["d"], statePath);
    }

    [Fact]
    public void A_change_in_the_last_file_only_keeps_every_earlier_record()
    {
        using var t = new TempDir();
        Tree(t);
        var statePath = t["work/d.state"];
        Day(t["d"], statePath, "2026-11-23", reset: true);
        var last = WalkOf(t["d"])[^1].Path;
        File.WriteAllText(last, "the last one changed");
        Assert.Equal(new[] { Path.GetRelativePath(t["d"], last) }, Day(t["d"], statePath, "2026-11-24"));
        AssertStateMatches(t["d"], statePath);
        Assert.Empty(Day(t["d"], statePath, "2026-11-25"));
    }

    [Fact]
    public void A_second_run_of_a_no_change_day_after_a_change_archives_the_days_change()
    {
        using var t = new TempDir();
        Tree(t);
        var statePath = t["work/d.state"];
        Day(t["d"], statePath, "2026-11-23", reset: true);
        Assert.Empty(Day(t["d"], statePath, "2026-11-24"));
        File.WriteAllText(t["d/s0/f07.txt"], "changed later on tuesday");
        Assert.Equal(new[] { "s0/f07.txt" }, Day(t["d"], statePath, "2026-11-24"));
        // A third run the same day: the day's baseline is Monday's state, so the change is archived again.
        Assert.Equal(new[] { "s0/f07.txt" }, Day(t["d"], statePath, "2026-11-24"));
        AssertStateMatches(t["d"], statePath);
    }
}
