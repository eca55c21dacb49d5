using BackupBuild.Tests.Restore;
using BackupBuild.Tests.Support;
using Xunit;

namespace BackupBuild.Tests.Reliability;

/// <summary>
/// Linux file names are bytes. A tree whose names and link targets are not UTF-8 (a Latin-1 name, a folder, a
/// symlink target, a long path, a name with a newline) goes through -t:Collect;Stage;Store and comes back from
/// -t:Restore byte for byte; the next day's incremental archive holds only the odd-named file that changed; and
/// GNU tar lists the archives' members with the exact bytes.
/// </summary>
public sealed class NonUtf8NameTests : IDisposable
{
    private readonly TempDir _t = new();
    public void Dispose() => _t.Dispose();

    private const long Monday = 1_780_000_000;

    /// <summary>Builds the tree with Python's byte-name calls (never through .NET, which cannot name these files).</summary>
    private const string MakeTree = """
        import os, sys
        root = sys.argv[1].encode()
        T = int(sys.argv[2])
        def f(rel, data, mode=0o640):
            p = root + b'/' + rel
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'wb') as out: out.write(data)
            os.chmod(p, mode)
            os.utime(p, (T, T))
        f(b'caf\xe9.txt', b'caf\xe9 on monday\n')
        f(b'd\xe9j\xe0/inner\xff.txt', b'inner\n', 0o600)
        f(b'new\nline\xe9.txt', b'a newline in the name\n')
        f(b'long/' + b'\xe9' * 80 + b'/' + b'n\xff' * 70 + b'.txt', b'long and odd\n')
        f('ünïcødé.txt'.encode(), b'valid utf-8\n', 0o644)
        f(b'plain.txt', b'plain\n', 0o644)
        os.symlink(b'caf\xe9.txt', root + b'/link\xfe')
        os.symlink(b'../caf\xe9.txt', root + b'/d\xe9j\xe0/up\xe0')
        os.symlink(root + b'/caf\xe9.txt', root + b'/abs-link')  # absolute (a dangling link is left out, as Cedar does)
        """;

    private const string ChangeOne = """
        import os, sys
        p = sys.argv[1].encode() + b'/caf\xe9.txt'
        with open(p, 'wb') as out: out.write(b'caf\xe9 on tuesday, longer\n')
        T = int(sys.argv[2]); os.utime(p, (T, T))
        """;

    private static Tool.Result Python(string script, params string[] args) =>
        Tool.Run("/usr/bin/python3", new[] { "-c", script }.Concat(args).ToArray());

    /// <summary>`tar -tv` in the C locale with escape quoting: every byte that is not printable ASCII as \ooo.</summary>
    private static List<string> GnuTarListing(string archive)
    {
        var r = Tool.RunWith(null, new Dictionary<string, string?> { ["LC_ALL"] = "C" }, TimeSpan.FromMinutes(2),
            Tool.Require("tar"), "--quoting-style=escape", "-tvf", archive);
        Assert.True(r.ExitCode == 0 && r.Error == "", "GNU tar: " + r.All);
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    [Fact]
    public void A_tree_with_names_that_are_not_utf8_is_backed_up_and_restored_byte_for_byte()
    {
        Tool.Require("python3");
        var tree = _t.Dir("src/tree");
        var made = Python(MakeTree, tree, Monday.ToString());
        Assert.True(made.ExitCode == 0, made.All);
        var p = new BackupProject(_t.Path)
            .Property("BackupPeer", "pool1")
            .Property("StartingDay", "monday")
            .Item("Peer", "pool1", ("Type", "local"), ("CollectDir", _t["var/collect"]))
            .Item("CollectDirectory", tree, ("CollectMode", "incr"), ("ArchiveMode", "targz"));

        // Monday: the full archive.
        var monday = RawTree.Of(tree);
        Assert.Equal(12, monday.Count); // 6 files, 3 links, 3 folders (the long path has two)
        var run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-23T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning BKP", run.Output);
        Assert.DoesNotContain("\uFFFD", run.Output);

        var full = Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/23/pool1"), "*.tar.gz").Single();
        var listing = GnuTarListing(full);
        var inTar = tree.TrimStart('/');
        foreach (var expected in new[]
                 {
                     $"{inTar}/caf\\351.txt", $"{inTar}/d\\351j\\340/inner\\377.txt", $"{inTar}/new\\nline\\351.txt",
                     $"{inTar}/long/{string.Concat(Enumerable.Repeat("\\351", 80))}/{string.Concat(Enumerable.Repeat("n\\377", 70))}.txt",
                     $"{inTar}/\\303\\274n\\303\\257c\\303\\270d\\303\\251.txt",
                     $"{inTar}/link\\376 -> caf\\351.txt", $"{inTar}/d\\351j\\340/up\\340 -> ../caf\\351.txt",
                     $"{inTar}/abs-link -> /{inTar}/caf\\351.txt",
                 })
            Assert.True(listing.Any(l => l.EndsWith(" " + expected, StringComparison.Ordinal)),
                $"GNU tar does not list {expected}:\n" + string.Join("\n", listing));

        var to = _t.Dir("restore-monday");
        var restore = p.Run("Restore", "RestoreDate=2026-11-23", "RestoreTo=" + to);
        Assert.True(restore.ExitCode == 0, restore.All);
        Assert.DoesNotContain("warning BKP", restore.Output);
        var got = RawTree.Of(to + tree);
        Assert.True(RawTree.Diff(monday, got) == "", "Monday:\n" + RawTree.Diff(monday, got));

        // Tuesday: one odd-named file changes; the incremental archive holds only it (and the links, always archived).
        p.PurgeStagedCollectDir();
        var changed = Python(ChangeOne, tree, (Monday + 86_400).ToString());
        Assert.True(changed.ExitCode == 0, changed.All);
        var tuesday = RawTree.Of(tree);
        Assert.NotEqual(monday[@"caf\xe9.txt"], tuesday[@"caf\xe9.txt"]);
        run = p.Run("Collect;Stage;Store", "BackupRunDate=2026-11-24T01:00");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("warning BKP", run.Output);

        var incremental = Directory.GetFiles(Path.Combine(p.StagingDir, "2026/11/24/pool1"), "*.tar.gz").Single();
        var files = GnuTarListing(incremental).Where(l => l.StartsWith('-')).ToList();
        Assert.True(files.Count == 1 && files[0].EndsWith($" {inTar}/caf\\351.txt", StringComparison.Ordinal),
            "the incremental archive should hold only the changed file:\n" + string.Join("\n", files));

        foreach (var (day, state) in new[] { ("2026-11-24", tuesday), ("2026-11-23", monday) })
        {
            var dest = _t.Dir("restore-" + day);
            restore = p.Run("Restore", "RestoreDate=" + day, "RestoreTo=" + dest);
            Assert.True(restore.ExitCode == 0, restore.All);
            Assert.DoesNotContain("warning BKP", restore.Output);
            got = RawTree.Of(dest + tree);
            Assert.True(RawTree.Diff(state, got) == "", day + ":\n" + RawTree.Diff(state, got));
        }

        // Find lists the odd names in their \xNN form.
        var find = p.Run("Find", "FindPattern=*.txt");
        Assert.True(find.ExitCode == 0, find.All);
        Assert.Contains(tree + @"/caf\xe9.txt  in ", find.Output);
        Assert.Contains(tree + @"/d\xe9j\xe0/inner\xff.txt  in ", find.Output);
    }
}
