using BackupBuild.Tasks.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Restore;

/// <summary>
/// A week of Collect, Stage and Store through the real `dotnet msbuild`, on a tree with odd names, symlinks,
/// hard links, modes and sparse files that changes every day; then -t:Restore as of each day gives back
/// exactly what the tree was that day, from the staging folders and, with them gone, from the image file.
/// </summary>
public class RestoreRoundTripTests
{
    private static readonly string[] Week =
        { "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29" };

    private static void Write(string path, string content, int mode, long mtime)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
        File.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeSeconds(mtime).UtcDateTime);
    }

    private static void Sparse(string path, long size, long dataAt, string data, long mtime)
    {
        using (var s = new FileStream(path, FileMode.Create))
        {
            s.SetLength(size);
            s.Position = dataAt;
            s.Write(System.Text.Encoding.UTF8.GetBytes(data));
        }
        File.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeSeconds(mtime).UtcDateTime);
    }

    /// <summary>Day 0 builds the tree; each later day changes it (content, modes, new, deleted and renamed files).</summary>
    private static void Mutate(string tree, string daily, int day)
    {
        var t = 1_780_000_000L + day * 86_400;
        switch (day)
        {
            case 0:
                Write(Path.Combine(tree, "plain.txt"), "plain v0\n", 0b110_100_100, t);
                Write(Path.Combine(tree, "with space and ünïcødé ✓.txt"), "odd\n", 0b110_000_000, t);
                Write(Path.Combine(tree, "quote'\"and\tTab"), "quotes\n", 0b111_101_101, t);
                Write(Path.Combine(tree, "-starts-with-dash"), "dash\n", 0b100_100_100, t);
                Write(Path.Combine(tree, "deep/" + new string('d', 90) + "/" + new string('n', 120) + ".txt"), "long name\n", 0b110_100_100, t);
                Write(Path.Combine(tree, "sub/dir/deleted-on-thursday.txt"), "soon gone\n", 0b110_100_100, t);
                Write(Path.Combine(tree, "sub/dir/changing.txt"), "day 0\n", 0b110_100_100, t);
                Write(Path.Combine(tree, "hard-a.txt"), "hard linked\n", 0b110_100_100, t);
                Assert.Equal(0, Tool.Run("ln", Path.Combine(tree, "hard-a.txt"), Path.Combine(tree, "hard-b.txt")).ExitCode);
                Sparse(Path.Combine(tree, "sparse.img"), 6 << 20, 3 << 20, "in the middle", t);
                File.CreateSymbolicLink(Path.Combine(tree, "link-relative"), "sub/dir/changing.txt");
                File.CreateSymbolicLink(Path.Combine(tree, "link-absolute"), "/etc/hostname");
                File.CreateSymbolicLink(Path.Combine(tree, "link-long"), "deep/" + new string('d', 90) + "/" + new string('n', 120) + ".txt");
                Write(Path.Combine(daily, "daily.conf"), "daily v0\n", 0b110_100_100, t);
                // Owners come back when Restore runs as root (as CI does); otherwise files are the runner's anyway.
                if (Tasks.Infrastructure.Posix.IsRoot)
                {
                    Assert.Equal(0, Tool.Run("chown", "12345:23456", Path.Combine(tree, "-starts-with-dash")).ExitCode);
                    Assert.Equal(0, Tool.Run("chown", "-h", "54321:65432", Path.Combine(tree, "link-absolute")).ExitCode);
                }
                break;
            case 1:
                Write(Path.Combine(tree, "sub/dir/changing.txt"), "day 1, longer\n", 0b111_100_100, t);
                Write(Path.Combine(tree, "new-on-tuesday.txt"), "new\n", 0b110_100_000, t);
                File.SetUnixFileMode(Path.Combine(daily, "daily.conf"), (UnixFileMode)0b110_000_000); // a mode change alone
                File.SetLastWriteTimeUtc(Path.Combine(daily, "daily.conf"), DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime);
                break;
            case 2:
                // Nothing changes in the incremental tree: today's incremental archive holds only its symlinks (always archived).
                Write(Path.Combine(daily, "daily.conf"), "daily v2\n", 0b110_100_100, t);
                break;
            case 3:
                File.Delete(Path.Combine(tree, "sub/dir/deleted-on-thursday.txt"));
                File.Move(Path.Combine(tree, "plain.txt"), Path.Combine(tree, "renamed.txt"));
                Sparse(Path.Combine(tree, "sparse.img"), 7 << 20, 5 << 20, "moved further", t);
                break;
            case 4:
                File.Delete(Path.Combine(tree, "link-relative"));
                File.CreateSymbolicLink(Path.Combine(tree, "link-relative"), "renamed.txt");
                File.Delete(Path.Combine(tree, "hard-b.txt"));
                Write(Path.Combine(tree, "hard-b.txt"), "no longer linked\n", 0b110_100_100, t);
                break;
            case 5:
                Write(Path.Combine(tree, "sub/dir/changing.txt"), "day 5\n", 0b110_100_100, t);
                break;
            case 6:
                File.Delete(Path.Combine(daily, "daily.conf"));
                Write(Path.Combine(daily, "other.conf"), "other\n", 0b110_100_100, t);
                break;
        }
    }

    [Fact]
    public void Every_day_of_a_week_restores_byte_identical_from_staging_and_from_the_image()
    {
        using var t = new TempDir();
        var tree = t.Dir("src/tree");
        var daily = t.Dir("src/daily");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Property("StartingDay", "monday")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", tree, ("CollectMode", "incr"), ("ArchiveMode", "targz"))
            .Item("CollectDirectory", daily, ("CollectMode", "daily"), ("ArchiveMode", "tarbz2"));

        var expected = new List<(SortedDictionary<string, string> Tree, SortedDictionary<string, string> Daily)>();
        for (var day = 0; day < Week.Length; day++)
        {
            Mutate(tree, daily, day);
            expected.Add((TreeState.Of(tree), TreeState.Of(daily)));
            // The pool-of-one Purge empties the collect dir once the day is staged (it keeps the master's cback.stage,
            // which tells the next Collect that the previous one was staged).
            p.PurgeStagedCollectDir();
            var run = p.Run("Collect;Stage;Store", "BackupRunDate=" + Week[day] + "T01:00");
            Assert.True(run.ExitCode == 0, run.All);
        }

        void RestoreAndCompare(int day, string label)
        {
            var to = t.Dir($"restore-{label}-{day}");
            var run = p.Run("Restore", "RestoreDate=" + Week[day], "RestoreTo=" + to);
            Assert.True(run.ExitCode == 0, run.All);
            Assert.DoesNotContain("warning", run.Output);
            var gotTree = TreeState.Of(to + tree);
            var gotDaily = TreeState.Of(to + daily);
            Assert.True(expected[day].Tree.Count >= 12 && expected[day].Daily.Count == 1, string.Join("\n", expected[day].Tree.Keys));
            Assert.True(TreeState.Diff(expected[day].Tree, gotTree) == "", $"{label} {Week[day]} tree:\n" + TreeState.Diff(expected[day].Tree, gotTree));
            Assert.True(TreeState.Diff(expected[day].Daily, gotDaily) == "", $"{label} {Week[day]} daily:\n" + TreeState.Diff(expected[day].Daily, gotDaily));
        }

        for (var day = 0; day < Week.Length; day++) RestoreAndCompare(day, "staging");

        // The deleted file: there as of Wednesday, gone as of Thursday.
        Assert.True(File.Exists(t[$"restore-staging-2{tree}/sub/dir/deleted-on-thursday.txt"]));
        Assert.False(File.Exists(t[$"restore-staging-3{tree}/sub/dir/deleted-on-thursday.txt"]));

        // Find lists every stored version of a path, with where it is stored.
        var find = p.Run("Find", "FindPattern=**/changing.txt");
        Assert.True(find.ExitCode == 0, find.All);
        var versions = find.Output.Split('\n').Where(l => l.Contains("changing.txt") && l.Contains(" bytes ")).ToList();
        Assert.Equal(3, versions.Count); // Monday (full), Tuesday, Saturday
        Assert.All(versions, v => Assert.Contains("pool1", v));
        Assert.Contains(versions, v => v.Contains("2026-11-28") && v.Contains("backup.iso:/2026/11/28/pool1/"));

        // As of a day, Find lists what Restore would give: the deleted file up to Wednesday, not from Thursday on.
        foreach (var (day, listed) in new[] { (2, true), (3, false), (6, false) })
        {
            var asOf = p.Run("Find", "FindPattern=**/deleted-on-thursday.txt", "FindDate=" + Week[day]);
            Assert.True(asOf.ExitCode == 0, asOf.All);
            Assert.Equal(listed, asOf.Output.Contains("sub/dir/deleted-on-thursday.txt  in "));
        }
        var changingAsOf = p.Run("Find", "FindPattern=**/changing.txt", "FindDate=" + Week[4]);
        Assert.Single(changingAsOf.Output.Split('\n'), l => l.Contains("changing.txt  in "));
        Assert.Contains("2026-11-24  pool1  14 bytes", changingAsOf.Output);

        // With the staging folders gone, the week's image holds it all.
        Directory.Delete(p.StagingDir, true);
        foreach (var day in new[] { 2, 3, 6 }) RestoreAndCompare(day, "image");
    }

    [Fact]
    public void A_dry_run_lists_what_it_would_write_and_an_existing_file_is_kept_unless_asked()
    {
        using var t = new TempDir();
        var src = t.Dir("src/data");
        t.File("src/data/a.txt", "new content");
        t.File("src/data/sub/b.txt", "b");
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", src, ("CollectMode", "daily"), ("ArchiveMode", "tar"));
        Assert.Equal(0, p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00").ExitCode);

        var to = t.Dir("restore");
        var dry = p.Run("Restore", "RestoreTo=" + to, "RestoreDryRun=true", "RestorePath=" + src + "/sub");
        Assert.True(dry.ExitCode == 0, dry.All);
        Assert.Contains($"Would write {to}{src}/sub/b.txt (1 bytes, as of 2026-11-24", dry.Output);
        Assert.DoesNotContain("a.txt", dry.Output);
        Assert.Empty(Directory.EnumerateFileSystemEntries(to));

        t.File($"restore{src}/a.txt", "old content");
        var keep = p.Run("Restore", "RestoreTo=" + to);
        Assert.True(keep.ExitCode == 0, keep.All);
        Assert.Contains("BKP8013", keep.Output);
        Assert.Equal("old content", File.ReadAllText(t[$"restore{src}/a.txt"]));
        Assert.Equal("b", File.ReadAllText(t[$"restore{src}/sub/b.txt"]));

        var overwrite = p.Run("Restore", "RestoreTo=" + to, "RestoreOverwrite=true", "RestorePath=" + src + "/a.txt");
        Assert.True(overwrite.ExitCode == 0, overwrite.All);
        Assert.Equal("new content", File.ReadAllText(t[$"restore{src}/a.txt"]));
    }

    [Fact]
    public void A_big_restore_names_the_first_files_one_line_each_counts_the_rest_and_outputs_every_file_as_an_item()
    {
        using var t = new TempDir();
        var src = t.Dir("src/data");
        var files = RestoreFiles.WroteNamed + 30;
        for (var i = 0; i < files; i++) t.File($"src/data/d{i % 7}/f{i:D4}.txt", "content " + i);
        var p = new BackupProject(t.Path)
            .Property("BackupPeer", "pool1")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", t["var/collect"]))
            .Item("CollectDirectory", src, ("CollectMode", "daily"), ("ArchiveMode", "targz"))
            .Targets("""<Target Name="AfterRestore"><Message Importance="high" Text="RestoredFile items: @(RestoredFile->Count())" /></Target>""");
        Assert.Equal(0, p.Run("Collect;Stage", "BackupRunDate=2026-11-24T01:00").ExitCode);

        var to = t.Dir("restore");
        var run = p.Run("Restore", "RestoreTo=" + to);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal(files, Directory.EnumerateFiles(to, "*", SearchOption.AllDirectories).Count());
        Assert.Equal(RestoreFiles.WroteNamed, run.Output.Split('\n').Count(l => l.Contains($"Wrote {to}{src}/")));
        Assert.Contains($"Wrote 30 more files (only the first {RestoreFiles.WroteNamed} are named", run.Output);
        Assert.Contains($"RestoredFile items: {files}", run.Output);
        Assert.Contains($"Restore finished: {files} files", run.Output);
    }
}
