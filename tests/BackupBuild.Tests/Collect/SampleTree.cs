using System.Text;
using BackupBuild.Tests.Support;

namespace BackupBuild.Tests.Collect;

/// <summary>
/// A folder of the awkward files a backup meets: long paths and components, names at the 100-byte
/// field limit, non-ASCII, spaces and newlines, unusual modes, foreign owners, old, negative and far
/// future times, empty files, and symlinks with short and long targets.
/// </summary>
internal sealed class SampleTree
{
    private readonly List<string> paths = [];

    public SampleTree(TempDir temp)
    {
        Root = temp.Dir("src");
        File("plain.txt", "hello\n", "644");
        File("empty", "", "644");
        File("secret", "only me\n", "600");
        File("run.sh", "#!/bin/sh\necho hi\n", "755");
        File("setuid-tool", "pretend binary\n", "4755");
        File("setgid-sticky", "odd bits\n", "3750");
        File("with space/a file.txt", "spaces\n", "644");
        File("new\nline", "newline in the name\n", "644");
        File("ünïcödé/日本語/файл.txt", "unicode\n", "644");
        File("emoji-😀.txt", "emoji\n", "644");
        var bigText = new StringBuilder();
        for (var i = 0; i < 3000; i++) bigText.Append("line ").Append(i).Append(" of a compressible file\n");
        File("text/big.txt", bigText.ToString(), "644");

        // A 200-byte component inside a path of more than 300 bytes: needs GNU long-name entries.
        var longDir = new string('d', 200) + "/" + new string('é', 40);
        File(longDir + "/" + new string('f', 60) + ".txt", "deep\n", "640");

        // Entry names of 99, 100 and 101 bytes: the 100-byte name field and its long-name boundary.
        foreach (var length in new[] { 99, 100, 101 })
            File(NameOfEntryLength("edge/", length), $"{length} bytes\n", "644");

        // Owners: ids without names, and a named user and group.
        Chown(File("owned-numeric", "ids only\n", "644"), "4321:8765");
        Chown(File("owned-named", "daemon and mail\n", "644"), "daemon:mail");

        // Times: the past, before 1970 (a negative time), and the far future (still octal).
        Touch(File("times/old", "1985\n", "644"), 473385600);
        Touch(File("times/before-1970", "1950\n", "644"), -631152000);
        Touch(File("times/future", "2200\n", "644"), 7258118400);

        Link("link-short", "plain.txt");
        Link("link-dangling", "/nowhere/at/all");
        Link("link-long-target", "/" + new string('t', 150) + "/ünïcödé-target");
        Link(longDir + "/link-long-both", "../" + new string('u', 120));
        Link(NameOfEntryLength("edge/l", 100), new string('v', 99));
        Link(NameOfEntryLength("edge/m", 101), new string('w', 100));
        Chown(Path.Combine(Root, "link-short"), "4321:8765", noDereference: true);
        Touch(Path.Combine(Root, "link-short"), 946684800);
    }

    public string Root { get; }

    /// <summary>Files and links in the order they are archived.</summary>
    public IReadOnlyList<string> Paths => paths;

    /// <summary>The tar entry name of a path: absolute, without the leading slash (like Cedar Backup's).</summary>
    public static string EntryName(string path) => path.TrimStart('/');

    private string NameOfEntryLength(string prefix, int length)
    {
        var used = Encoding.UTF8.GetByteCount(EntryName(Path.Combine(Root, prefix)));
        return prefix + new string('n', length - used);
    }

    private string File(string relative, string content, string octalMode)
    {
        var full = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
        Run("chmod", octalMode, full);
        paths.Add(full);
        return full;
    }

    private void Link(string relative, string target)
    {
        var full = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.CreateSymbolicLink(full, target);
        paths.Add(full);
    }

    private static void Chown(string path, string owner, bool noDereference = false) =>
        Run("chown", noDereference ? ["-h", owner, path] : [owner, path]);

    private static void Touch(string path, long seconds) => Run("touch", "-h", "-d", "@" + seconds, path);

    private static void Run(string program, params string[] args)
    {
        var r = Tool.Run(program, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{program} failed: {r.All}");
    }
}
