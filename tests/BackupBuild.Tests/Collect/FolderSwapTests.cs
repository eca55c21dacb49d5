using System.Security.Cryptography;
using System.Text;
using BackupBuild.Tasks.Collect;
using BackupBuild.Tasks.Collect.Archive;
using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// A folder inside a collected tree swapped for a symlink between the walk and the read (or the incremental hash)
/// does not make Collect read a same-named file elsewhere: with LinkDepth 0 each file's folder is opened beneath
/// the item's folder without following a link, so the file vanishes (BKP2004, naming it) and nothing of the link's
/// target reaches the archive or the incremental state.
/// </summary>
[Collection("CollectArchives progress interval")]
[Trait("Tier", "Fast")]
public class FolderSwapTests
{
    private const string Marker = "OUTSIDE-SECRET-7f3a";

    private static CollectArchives Task(TempDir t, FakeBuildEngine engine, string runDate, string mode) => new()
    {
        BuildEngine = engine,
        CollectDirectories = [PropsDefaults.Defined("CollectDirectory", t["src"], ("CollectMode", mode), ("ArchiveMode", "targz"))],
        CollectDir = t["var/collect"],
        WorkingDir = t["var/work"],
        RunSettings = PropsDefaults.Run(runDate),
        CollectSettings = PropsDefaults.Collect(("CompressionThreads", "2"), ("CollectCarryUnstaged", "false")),
    };

    private static byte[] Content(string text, int size)
    {
        var b = new byte[size];
        var t = Encoding.ASCII.GetBytes(text + "\n");
        for (var i = 0; i < size; i++) b[i] = t[i % t.Length];
        return b;
    }

    /// <summary>
    /// src/ with a few files, src/{folder}/secret-name; outside/{folder}/secret-name (outside the tree) holds the
    /// marker. Returns the in-tree path of the file and a swap that renames src/{top} away and puts a link
    /// src/{top} -> outside/{top} in its place.
    /// </summary>
    private static (string Path, Action Swap) Tree(TempDir t, string folder, int size)
    {
        for (var i = 0; i < 20; i++) t.File($"src/x{i:00}/f", "plain " + i);
        t.File("src/top-file", "top");
        var path = t.File($"src/{folder}/secret-name");
        File.WriteAllBytes(path, Content("inside", size));
        File.WriteAllBytes(t.File($"outside/{folder}/secret-name"), Content(Marker, size));
        var top = folder.Split('/')[0];
        return (path, () =>
        {
            Directory.Move(t[$"src/{top}"], t[$"moved-{top}"]);
            File.CreateSymbolicLink(t[$"src/{top}"], t[$"outside/{top}"]);
        });
    }

    private static string Archive(TempDir t) => Directory.GetFiles(t["var/collect"], "*.tar.gz").Single();

    /// <summary>Real GNU tar lists and extracts the archive: no member is the swapped file, no content holds the marker.</summary>
    private static void AssertNothingFromOutside(TempDir t, string archive, string path, bool full = true)
    {
        var listing = ArchiveReaders.Run("tar", "-tzf", archive).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(SampleTree.EntryName(path), listing);
        if (full) Assert.Contains(listing, n => n.EndsWith("top-file", StringComparison.Ordinal));
        var into = t["extracted"];
        if (Directory.Exists(into)) Directory.Delete(into, true);
        Directory.CreateDirectory(into);
        ArchiveReaders.Run("tar", "-xzf", archive, "-C", into);
        foreach (var file in Directory.EnumerateFiles(into, "*", SearchOption.AllDirectories))
            if (new FileInfo(file).LinkTarget == null)
                Assert.DoesNotContain(Marker, File.ReadAllText(file));
    }

    public static TheoryData<string, int, bool> Cases => new()
    {
        // The folder itself, a folder three levels up; read whole and streamed; openat2 and the per-component fallback.
        { "d", 2_000, true },
        { "d", 3 << 20, true },
        { "a/b/c", 2_000, true },
        { "a/b/c", 3 << 20, true },
        { "d", 2_000, false },
        { "a/b/c", 3 << 20, false },
    };

    [Theory, MemberData(nameof(Cases))]
    public void A_folder_swapped_for_a_link_before_the_read_is_not_followed(string folder, int size, bool openat2)
    {
        using var t = new TempDir();
        var (path, swap) = Tree(t, folder, size);
        var engine = new FakeBuildEngine();
        FileReadAhead.BeforeOpen = p => { if (p == path) swap(); };
        DirectoryHandle.UseOpenat2 = openat2;
        try
        {
            Assert.True(Task(t, engine, "2026-11-24T01:00", "daily").Execute(), engine.AllText);
        }
        finally
        {
            FileReadAhead.BeforeOpen = null;
            DirectoryHandle.UseOpenat2 = true;
        }
        Assert.Equal(["BKP2004"], engine.WarningCodes);
        Assert.Contains(path, engine.Warnings.Single().Message);
        AssertNothingFromOutside(t, Archive(t), path);
    }

    [Theory]
    [InlineData("d", 2_000)]
    [InlineData("a/b/c", 3 << 20)]
    public void A_folder_swapped_for_a_link_before_the_incremental_hash_is_not_followed(string folder, int size)
    {
        using var t = new TempDir();
        var (path, swap) = Tree(t, folder, size);
        var first = new FakeBuildEngine();
        Assert.True(Task(t, first, "2026-11-23T01:00", "incr").Execute(), first.AllText);
        Assert.Empty(first.Warnings);
        Directory.Delete(t["var/collect"], true);
        // Same content, a new time: the next run hashes the file to decide whether it changed.
        File.SetLastWriteTimeUtc(path, new DateTime(2026, 11, 23, 12, 0, 0, DateTimeKind.Utc));

        var second = new FakeBuildEngine();
        var hashed = false;
        CollectArchives.BeforeHash = p => { if (p == path) { hashed = true; swap(); } };
        try
        {
            Assert.True(Task(t, second, "2026-11-24T01:00", "incr").Execute(), second.AllText);
        }
        finally
        {
            CollectArchives.BeforeHash = null;
        }
        Assert.True(hashed, "the file was not hashed");
        Assert.Equal(["BKP2004"], second.WarningCodes);
        Assert.Contains(path, second.Warnings.Single().Message);
        AssertNothingFromOutside(t, Archive(t), path, full: false);
        // The state records nothing of the outside file: not its hash (raw or hex).
        var secretHash = SHA256.HashData(Content(Marker, size));
        foreach (var state in Directory.EnumerateFiles(t["var/work"], "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(state);
            Assert.True(bytes.AsSpan().IndexOf(secretHash) < 0, state);
            Assert.True(bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(secretHash))) < 0, state);
        }
    }
}
