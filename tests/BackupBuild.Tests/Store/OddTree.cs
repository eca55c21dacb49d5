using BackupBuild.Tasks.Infrastructure;
using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Store;

/// <summary>Source trees with the names, modes, owners, times and links that an ISO writer tends to get wrong.</summary>
internal static class OddTree
{
    public static readonly string LongName = new string('n', 216) + ".txt"; // 220 bytes
    public static readonly string LongestName = new string('m', 251) + ".txt"; // 255 bytes: two NM entries
    public static readonly string LongestUtf8Name = string.Concat(Enumerable.Repeat("€", 85)); // 255 bytes, split inside a character
    public static readonly string LongLinkTarget = string.Join('/', Enumerable.Repeat(new string('c', 250), 4)); // 1003 bytes, just below xorriso's limit
    public static readonly string ManyParents = string.Concat(Enumerable.Repeat("../", 120)) + "x";
    public const string Utf8Name = "übersicht.txt";
    public const string NewlineName = "new\nline";
    private const long BaseTime = 1_600_000_000;

    public static void CreateDay1(string root)
    {
        File(root, "file with space.txt", "spaces\n", "600");
        File(root, NewlineName, "newline in the name\n");
        File(root, Utf8Name, "Übersicht ✓\n");
        File(root, LongName, "a name of 220 bytes\n");
        File(root, LongestName, "a name of 255 bytes\n");
        File(root, LongestUtf8Name, "euros\n");
        File(root, ".hidden", "leading dot\n");
        // Enough long names to need several continuation blocks for one directory.
        for (var i = 0; i < 24; i++) File(root, $"long names/{i:D2}-" + new string('x', 237), $"{i}\n");
        File(root, "emptyfile", "");
        File(root, "run.sh", "#!/bin/sh\necho hi\n", "755");
        File(root, "suid", "setuid\n", "4755");
        File(root, "A.txt", "upper\n");
        File(root, "a.txt", "lower\n");
        File(root, "a.TXT", "mixed\n");
        File(root, "a.", "trailing dot\n");
        File(root, "archive.tar.gz", "two dots\n");
        for (var i = 1; i <= 12; i++) File(root, $"report-2026-11-21-section-number-{i}.txt", $"section {i}\n");
        File(root, "日本語/ファイル.txt", "nihongo\n");
        File(root, "verzeichnis ä/inner file", "inside\n");
        File(root, "private/secret", "secret\n", "600");
        Tool.Run("chmod", "700", Path.Combine(root, "private"));
        File(root, "a/b/c/d/e/f/g/h/i/j/k/l/deep.txt", "twelve levels down\n");
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        var random = new byte[(4 << 20) + 12345]; // crosses the writer's 4 MiB buffers
        new Random(42).NextBytes(random);
        System.IO.File.WriteAllBytes(Path.Combine(root, "random.bin"), random);
        File(root, "owned.txt", "owned by someone else\n", "644");
        if (Posix.IsRoot) Tool.Run("chown", "1234:5678", Path.Combine(root, "owned.txt"));

        Link(root, "rel", "../x");
        Link(root, "abs", "/etc/hostname");
        Link(root, "dotrel", "./a/b");
        Link(root, "dangling", "/nonexistent/dangling target");
        Link(root, "longlink", LongLinkTarget);
        Link(root, "manyparents", ManyParents);
        Link(root, "a/b/up", "..");
        Link(root, "link to ü", Utf8Name);
        SetTimes(root);
    }

    public static void CreateDay2(string root)
    {
        File(root, "day2.txt", "second day\n");
        File(root, "nested/again.txt", "nested\n", "640");
        Link(root, "nested/back", "../day2.txt");
        SetTimes(root);
    }

    public static string File(string root, string relative, string content, string? mode = null)
    {
        var full = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        if (mode != null) Tool.Run("chmod", mode, full);
        return full;
    }

    public static void Link(string root, string relative, string target) =>
        System.IO.File.CreateSymbolicLink(Path.Combine(root, relative), target);

    /// <summary>Distinct whole-second times, children before their folders (creating a child changes the folder's time).</summary>
    private static void SetTimes(string root)
    {
        var entries = TreeAssert.Walk(root).OrderByDescending(e => e.Count(c => c == '/')).ToList();
        for (var i = 0; i < entries.Count; i++)
        {
            var full = Path.Combine(root, entries[i]);
            var stat = Posix.LStat(full, out _)!.Value;
            if (stat.IsSymlink) continue;
            var time = DateTime.UnixEpoch.AddSeconds(BaseTime + i * 86_399L);
            if (stat.IsDirectory) Directory.SetLastWriteTimeUtc(full, time);
            else System.IO.File.SetLastWriteTimeUtc(full, time);
        }
        Directory.SetLastWriteTimeUtc(root, DateTime.UnixEpoch.AddSeconds(BaseTime - 1000));
    }
}
